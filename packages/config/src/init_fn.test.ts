import { parseInitFn } from './init_fn';

describe("parseInitFn (TorchEasyRec's init_fn / wide_init_fn)", () => {
  it.each([
    ['nn.init.uniform_,a=-0.01,b=0.01', { kind: 'uniform', low: -0.01, high: 0.01 }],
    ['nn.init.uniform_, -0.5, 0.5', { kind: 'uniform', low: -0.5, high: 0.5 }],
    ['nn.init.uniform_', { kind: 'uniform', low: 0, high: 1 }],
    ['torch.nn.init.uniform_,b=0.2', { kind: 'uniform', low: 0, high: 0.2 }],
    ['nn.init.zeros_', { kind: 'constant', value: 0 }],
    ['nn.init.ones_', { kind: 'constant', value: 1 }],
    ['nn.init.constant_,val=0.25', { kind: 'constant', value: 0.25 }],
  ])('%s', (expr, want) => {
    expect(parseInitFn(expr)).toEqual(want);
  });

  it.each([
    [
      'nn.init.normal_,mean=0,std=0.01',
      "init function 'nn.init.normal_' is not supported yet by tsrec; supported: nn.init.uniform_, nn.init.constant_, nn.init.zeros_, nn.init.ones_",
    ],
    ['nn.init.uniform_,c=1', "unexpected argument 'c=1' for nn.init.uniform_ (it takes a, b)"],
    ['nn.init.uniform_,a=x', "expected a number for a of nn.init.uniform_ but received 'x'"],
    ['nn.init.uniform_,a=1,b=0', 'expected a <= b for nn.init.uniform_ but received a=1, b=0'],
    ['nn.init.constant_', 'expected val=<number> for nn.init.constant_'],
    ['nn.init.zeros_,1', "unexpected argument '1' for nn.init.zeros_ (it takes none)"],
  ])('rejects %s', (expr, error) => {
    expect(parseInitFn(expr)).toEqual({ error });
  });
});
