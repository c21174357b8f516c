// Where the platform is: graphql-edge's /graphql and realtime-edge's /ws. Opened at first start
// when no address came with the app, and from the sign-in screen or the projects screen later.
// What is typed is checked before it is saved; a change of server ends the session (its tokens
// belong to the old server).
import { useState } from 'react';
import { Text, View } from 'react-native';
import { EndpointsError } from '@platform-sm/client';
import { Screen } from '../components/Screen';
import { Banner, Button, Field, styles } from '../components/ui';
import { SOURCE_LABEL, type StartConfig } from '../config';

const FIELD_NAME = { graphqlUrl: 'The GraphQL URL', realtimeUrl: 'The realtime URL' } as const;

/** "Server settings: "graphqlUrl" must be …" → "The GraphQL URL must be …" */
function fieldMessage(e: EndpointsError): string {
  const key = e.key;
  if (!key) return e.message;
  return e.message.replace(/^[^:]*: /, '').replace(`"${key}"`, FIELD_NAME[key]);
}

export function SettingsScreen(props: {
  config: StartConfig;
  signedIn: boolean;
  onSave: (input: { graphqlUrl: string; realtimeUrl: string }) => Promise<void>;
  onUseDefault: () => Promise<void>;
  onClose?: () => void;
}) {
  const { current, fallback, problems } = props.config;
  const [graphqlUrl, setGraphqlUrl] = useState(current?.endpoints.graphqlUrl ?? '');
  const [realtimeUrl, setRealtimeUrl] = useState(current?.endpoints.realtimeUrl ?? '');
  const [errors, setErrors] = useState<{ graphqlUrl?: string; realtimeUrl?: string; other?: string }>({});
  const [busy, setBusy] = useState(false);

  const save = async () => {
    setErrors({});
    setBusy(true);
    try {
      await props.onSave({ graphqlUrl, realtimeUrl });
    } catch (e) {
      if (e instanceof EndpointsError && e.key) setErrors({ [e.key]: fieldMessage(e) });
      else setErrors({ other: e instanceof Error ? e.message : String(e) });
      setBusy(false);
    }
  };

  return (
    <Screen title="Server settings" onBack={props.onClose}>
      {problems.map((p) => (
        <Banner key={p} kind="error">
          {p}
        </Banner>
      ))}
      {!current && <Banner kind="info">Enter the addresses of your Platform SM server to start.</Banner>}
      {current && (
        <Text style={styles.muted}>
          Now: {current.endpoints.graphqlUrl} ({SOURCE_LABEL[current.source]})
        </Text>
      )}
      {errors.other && <Banner kind="error">{errors.other}</Banner>}
      <View style={styles.card}>
        <Field
          label="GraphQL URL"
          value={graphqlUrl}
          onChangeText={setGraphqlUrl}
          error={errors.graphqlUrl}
          help="graphql-edge, e.g. https://api.example.com/graphql"
          autoCapitalize="none"
          autoCorrect={false}
          keyboardType="url"
          inputMode="url"
        />
        <Field
          label="Realtime URL"
          value={realtimeUrl}
          onChangeText={setRealtimeUrl}
          error={errors.realtimeUrl}
          help="realtime-edge, e.g. wss://rt.example.com/ws"
          autoCapitalize="none"
          autoCorrect={false}
          keyboardType="url"
          inputMode="url"
        />
        {props.signedIn && <Text style={styles.muted}>Saving another server signs you out.</Text>}
        <Button variant="primary" title="Save" label="Save server" disabled={busy} onPress={() => void save()} />
      </View>
      {current?.source === 'settings' && fallback && (
        <View style={styles.card}>
          <Text style={styles.muted}>
            Default: {fallback.endpoints.graphqlUrl} ({SOURCE_LABEL[fallback.source]})
          </Text>
          <Button title="Use the default server" disabled={busy} onPress={() => void props.onUseDefault()} />
        </View>
      )}
    </Screen>
  );
}
