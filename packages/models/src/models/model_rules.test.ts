import { registeredModelRules, support } from '@tsrec/config';

import './index';
import { registeredModels } from './model_registry';

describe('one registration per model: class, config case and rules', () => {
  it('every registered model has rules, and only registered models do', () => {
    expect(registeredModelRules()).toEqual(registeredModels());
  });

  it("the config's supported models are exactly the registered ones", () => {
    expect([...support.SUPPORTED_MODELS].sort()).toEqual(registeredModels());
  });
});
