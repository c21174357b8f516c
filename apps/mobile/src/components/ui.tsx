// The app's few building blocks, in React Native primitives (so the same code draws native views
// on a phone and DOM elements on the web export). Each control has a role and a name, which is
// what screen readers, the component tests and the browser tests find it by.
import { type ReactNode } from 'react';
import { ActivityIndicator, Platform, Pressable, StyleSheet, Text, TextInput, View, type StyleProp, type TextInputProps, type ViewStyle } from 'react-native';

export const colors = {
  primary: '#2747b8',
  text: '#1b1f2a',
  muted: '#5b6270',
  border: '#d5d9e2',
  surface: '#ffffff',
  background: '#f3f5f9',
  code: '#f6f7fa',
  error: '#b3261e',
  errorBg: '#fdecea',
  warning: '#8a5300',
  warningBg: '#fff4e0',
  info: '#0b5394',
  infoBg: '#e8f0fb',
  success: '#1e6b34',
};

export const mono = Platform.select({ ios: 'Menlo', android: 'monospace', default: 'ui-monospace, Menlo, Consolas, monospace' });

type Variant = 'primary' | 'outlined' | 'text' | 'danger' | 'warning';

export function Button(props: {
  title: string;
  onPress: () => void;
  /** The accessible name when the title alone is ambiguous ("Edit" → "Edit release.percent"). */
  label?: string;
  variant?: Variant;
  disabled?: boolean;
  small?: boolean;
  style?: StyleProp<ViewStyle>;
}) {
  const variant = props.variant ?? 'outlined';
  const filled = variant === 'primary' || variant === 'danger' || variant === 'warning';
  const tint = variant === 'danger' ? colors.error : variant === 'warning' ? colors.warning : colors.primary;
  return (
    <Pressable
      role="button"
      aria-label={props.label ?? props.title}
      aria-disabled={props.disabled || undefined}
      disabled={props.disabled}
      onPress={props.onPress}
      style={({ pressed }) => [
        styles.button,
        props.small && styles.buttonSmall,
        filled && { backgroundColor: tint, borderColor: tint },
        variant === 'outlined' && { borderColor: tint },
        variant === 'text' && { borderColor: 'transparent' },
        pressed && { opacity: 0.7 },
        props.disabled && { opacity: 0.45 },
        props.style,
      ]}
    >
      <Text style={[styles.buttonText, props.small && styles.buttonTextSmall, { color: filled ? '#fff' : tint }]}>{props.title}</Text>
    </Pressable>
  );
}

export function Field(
  props: {
    label: string;
    value: string;
    onChangeText: (v: string) => void;
    error?: string | null;
    help?: string;
    monospace?: boolean;
  } & Omit<TextInputProps, 'value' | 'onChangeText' | 'style'>,
) {
  const { label, error, help, monospace, ...input } = props;
  return (
    <View style={styles.field}>
      <Text style={styles.fieldLabel}>{label}</Text>
      <TextInput
        aria-label={label}
        aria-invalid={error ? true : undefined}
        placeholderTextColor={colors.muted}
        {...input}
        style={[styles.input, input.multiline && styles.inputMultiline, monospace && { fontFamily: mono }, error ? { borderColor: colors.error } : null]}
      />
      {error ? (
        <Text style={styles.fieldError} role="alert">
          {error}
        </Text>
      ) : help ? (
        <Text style={styles.fieldHelp}>{help}</Text>
      ) : null}
    </View>
  );
}

export function Heading({ level, children, style }: { level: 1 | 2 | 3; children: ReactNode; style?: StyleProp<ViewStyle> }) {
  return (
    <Text role="heading" aria-level={level} style={[level === 1 ? styles.h1 : level === 2 ? styles.h2 : styles.h3, style as never]} numberOfLines={level === 1 ? 2 : undefined}>
      {children}
    </Text>
  );
}

export function Banner(props: { kind: 'error' | 'warning' | 'info'; children: ReactNode; action?: { title: string; onPress: () => void }; role?: 'alert' | 'status' }) {
  const fg = props.kind === 'error' ? colors.error : props.kind === 'warning' ? colors.warning : colors.info;
  const bg = props.kind === 'error' ? colors.errorBg : props.kind === 'warning' ? colors.warningBg : colors.infoBg;
  return (
    <View role={props.role ?? (props.kind === 'info' ? 'status' : 'alert')} style={[styles.banner, { backgroundColor: bg, borderColor: fg }]}>
      <Text style={[styles.bannerText, { color: fg }]}>{props.children}</Text>
      {props.action && <Button small variant="text" title={props.action.title} onPress={props.action.onPress} />}
    </View>
  );
}

export function Chip({ children }: { children: ReactNode }) {
  return (
    <View style={styles.chip}>
      <Text style={styles.chipText}>{children}</Text>
    </View>
  );
}

export function Loading({ label }: { label: string }) {
  return (
    <View style={styles.loading}>
      <ActivityIndicator aria-label={label} color={colors.primary} />
      <Text style={styles.muted}>{label}…</Text>
    </View>
  );
}

export function Code({ children, label }: { children: string; label?: string }) {
  return (
    <Text aria-label={label} selectable style={styles.code}>
      {children}
    </Text>
  );
}

export const styles = StyleSheet.create({
  button: {
    minHeight: 44,
    paddingHorizontal: 16,
    borderRadius: 8,
    borderWidth: 1,
    alignItems: 'center',
    justifyContent: 'center',
  },
  buttonSmall: { minHeight: 36, paddingHorizontal: 10 },
  buttonText: { fontSize: 16, fontWeight: '600' },
  buttonTextSmall: { fontSize: 14 },
  field: { gap: 4 },
  fieldLabel: { fontSize: 14, fontWeight: '600', color: colors.text },
  input: {
    borderWidth: 1,
    borderColor: colors.border,
    borderRadius: 8,
    paddingHorizontal: 12,
    paddingVertical: 10,
    fontSize: 16,
    color: colors.text,
    backgroundColor: colors.surface,
  },
  inputMultiline: { minHeight: 96, textAlignVertical: 'top' },
  fieldError: { color: colors.error, fontSize: 13 },
  fieldHelp: { color: colors.muted, fontSize: 13 },
  h1: { fontSize: 24, fontWeight: '700', color: colors.text },
  h2: { fontSize: 18, fontWeight: '700', color: colors.text },
  h3: { fontSize: 16, fontWeight: '700', color: colors.text, fontFamily: mono },
  banner: { borderWidth: 1, borderRadius: 8, padding: 10, flexDirection: 'row', alignItems: 'center', gap: 8 },
  bannerText: { flex: 1, fontSize: 14 },
  chip: { borderWidth: 1, borderColor: colors.border, borderRadius: 12, paddingHorizontal: 8, paddingVertical: 2 },
  chipText: { fontSize: 12, color: colors.muted },
  loading: { alignItems: 'center', gap: 8, paddingVertical: 32 },
  muted: { color: colors.muted, fontSize: 14 },
  code: { fontFamily: mono, fontSize: 14, backgroundColor: colors.code, padding: 8, borderRadius: 6, color: colors.text },
  card: { backgroundColor: colors.surface, borderRadius: 10, borderWidth: 1, borderColor: colors.border, padding: 12, gap: 8 },
  row: { flexDirection: 'row', alignItems: 'center', gap: 8 },
});
