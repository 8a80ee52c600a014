import { WITHHELD_PLACEHOLDER } from '../free-text.ts';
import { stringFieldsOnly, type MethodModule } from './types.ts';

/**
 * `withhold`: a text field the policy will not publish even scrubbed; every non-blank value
 * becomes `[WITHHELD]` (reason `policy`). The field stays in the clean schema, so consumers see
 * that a value existed.
 */
export const withholdMethod: MethodModule<{ method: 'withhold' }> = {
  method: 'withhold',
  output: 'string',
  check: stringFieldsOnly('withhold'),
  create({ field }) {
    const name = field.name;
    return (value, scope) => {
      const text = String(value);
      if (text.trim() === '') return text;
      scope.withheld(name, 'policy');
      return WITHHELD_PLACEHOLDER;
    };
  },
};
