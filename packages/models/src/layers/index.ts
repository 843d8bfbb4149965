/** Dense building blocks on tfjs-core variables. */
export { Dense, applyActivation, LEAKY_RELU_ALPHA, type Activation, type DenseOptions } from './dense';
export { Mlp } from './mlp';
export { CrossNet, CrossV2Net } from './cross_net';
export { LayerNorm } from './layer_norm';
export { BatchNorm } from './batch_norm';
export { setRandomPosition, nextRandomSeed } from './random_stream';
