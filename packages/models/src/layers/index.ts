/** Dense building blocks on tfjs-core variables. */
export { Dense, type Activation, type DenseOptions } from './dense';
export { Mlp } from './mlp';
