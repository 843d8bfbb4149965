/** Fused losses as tfjs custom-gradient ops (loss and d_logits in one pass). */
export { sigmoidBceWithLogits, type SigmoidBceOptions } from './sigmoid_bce_with_logits';
export { softmaxCrossEntropy, type SoftmaxCrossEntropyOptions } from './softmax_cross_entropy';
export { l2Loss, type L2LossOptions } from './l2_loss';
export { binaryFocalLoss, type BinaryFocalLossOptions } from './binary_focal_loss';
export { jrcLoss, type JrcLossOptions } from './jrc_loss';
export { fusedLossOp, type LossInput } from './fused_loss_op';
export { checkFinite } from './finite_check';
