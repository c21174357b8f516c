import { useState } from 'react';
import { KeyboardAvoidingView, Platform, StyleSheet, Text, View } from 'react-native';
import { useSafeAreaInsets } from 'react-native-safe-area-context';
import { signInErrorMessage, toApiError } from '@platform-sm/client';
import { Banner, Button, Field, Heading, colors } from '../components/ui';
import { hostOf } from '../config';
import { useServices } from '../context';
import { useOnline } from '../network';

export function SignInScreen(props: { endMessage: string | null; onSignedIn: () => void; openSettings: () => void }) {
  const { session, endpoints } = useServices();
  const online = useOnline();
  const insets = useSafeAreaInsets();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    if (!email.trim() || !password) {
      setError('Enter your email and password.');
      return;
    }
    if (!online) {
      setError('You are offline: signing in needs a connection.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await session.login(email.trim(), password);
      props.onSignedIn();
    } catch (e) {
      setError(signInErrorMessage(toApiError(e)));
      setBusy(false);
    }
  };

  return (
    <KeyboardAvoidingView behavior={Platform.OS === 'ios' ? 'padding' : undefined} style={[styles.root, { paddingTop: insets.top + 24 }]}>
      <View style={styles.card}>
        <Heading level={1}>Sign in to Platform SM</Heading>
        {props.endMessage && <Banner kind="warning">{props.endMessage}</Banner>}
        {!online && <Banner kind="warning" role="status">Offline — signing in needs a connection.</Banner>}
        {error && <Banner kind="error">{error}</Banner>}
        <Field
          label="Email"
          value={email}
          onChangeText={setEmail}
          autoCapitalize="none"
          autoCorrect={false}
          autoComplete="email"
          keyboardType="email-address"
          textContentType="username"
          inputMode="email"
        />
        <Field
          label="Password"
          value={password}
          onChangeText={setPassword}
          secureTextEntry
          autoComplete="current-password"
          textContentType="password"
          onSubmitEditing={() => void submit()}
        />
        <Button variant="primary" title={busy ? 'Signing in…' : 'Sign in'} label="Sign in" disabled={busy} onPress={() => void submit()} />
        <Text style={styles.muted}>No account? Ask an administrator of your platform to create one.</Text>
      </View>
      <View style={styles.server}>
        <Text style={styles.muted} aria-label="Server">
          Server: {hostOf(endpoints.graphqlUrl)}
        </Text>
        <Button small variant="text" title="Server settings" onPress={props.openSettings} />
      </View>
    </KeyboardAvoidingView>
  );
}

const styles = StyleSheet.create({
  root: { flex: 1, backgroundColor: colors.background, padding: 16, gap: 12 },
  card: { backgroundColor: colors.surface, borderRadius: 12, padding: 16, gap: 14, borderWidth: 1, borderColor: colors.border },
  server: { flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between', flexWrap: 'wrap' },
  muted: { color: colors.muted, fontSize: 14 },
});
