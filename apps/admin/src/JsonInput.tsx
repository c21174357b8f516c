// A JSON value editor: the text must parse (any JSON: object, array, string, number, boolean,
// null), and what is saved is the parsed value, so `true` is a boolean and `"true"` a string.
import { TextInput, type TextInputProps } from 'react-admin';

/** Text that is not JSON yet, kept as typed so the user can fix it. */
interface Unparsed {
  __unparsedJson: string;
  error: string;
}

const isUnparsed = (v: unknown): v is Unparsed => typeof v === 'object' && v !== null && '__unparsedJson' in v;

export const formatJson = (v: unknown): string => {
  if (isUnparsed(v)) return v.__unparsedJson;
  if (v === undefined) return '';
  return JSON.stringify(v, null, 2);
};

export const parseJson = (text: string): unknown => {
  if (text.trim() === '') return { __unparsedJson: text, error: 'A value is required (e.g. true, 42, "text", {"a": 1})' };
  try {
    return JSON.parse(text);
  } catch (e) {
    return { __unparsedJson: text, error: `Not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
};

export const validJson = (v: unknown) => (isUnparsed(v) ? v.error : undefined);

export function JsonInput(props: Omit<TextInputProps, 'format' | 'parse'>) {
  return (
    <TextInput
      multiline
      minRows={3}
      helperText='Any JSON: true, 42, "text", [1, 2], {"enabled": true}'
      {...props}
      format={formatJson}
      parse={parseJson}
      validate={props.validate ? [validJson, ...(Array.isArray(props.validate) ? props.validate : [props.validate])] : validJson}
      slotProps={{ htmlInput: { style: { fontFamily: 'monospace' }, spellCheck: false } }}
    />
  );
}
