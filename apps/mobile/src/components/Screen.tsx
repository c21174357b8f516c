// A screen: its header (back, title, actions), the app-wide banners (offline, reconnecting), and
// its content, scrollable, with pull to refresh where the screen has something to refresh.
import { type ReactNode } from 'react';
import { RefreshControl, ScrollView, StyleSheet, Text, View } from 'react-native';
import { useSafeAreaInsets } from 'react-native-safe-area-context';
import { useOnline } from '../network';
import { Banner, Button, Heading, colors } from './ui';

export function Screen(props: {
  title: string;
  subtitle?: ReactNode;
  onBack?: () => void;
  backLabel?: string;
  actions?: ReactNode;
  /** Pull to refresh. */
  refreshing?: boolean;
  onRefresh?: () => void;
  /** Shown under the header, e.g. the realtime connection's state. */
  status?: ReactNode;
  children: ReactNode;
}) {
  const insets = useSafeAreaInsets();
  const online = useOnline();
  return (
    <View style={[styles.root, { paddingTop: insets.top }]}>
      <View style={styles.header}>
        {props.onBack && <Button small variant="text" title="‹ Back" label={props.backLabel ?? 'Back'} onPress={props.onBack} />}
        <View style={styles.titleBox}>
          <Heading level={1}>{props.title}</Heading>
          {typeof props.subtitle === 'string' ? <Text style={styles.subtitle}>{props.subtitle}</Text> : props.subtitle}
        </View>
        {props.actions && <View style={styles.actions}>{props.actions}</View>}
      </View>
      {!online && (
        <View style={styles.bannerBox}>
          <Banner kind="warning" role="status">
            Offline — showing what was last loaded. Changes cannot be saved until you are back online.
          </Banner>
        </View>
      )}
      {props.status}
      <ScrollView
        style={styles.scroll}
        contentContainerStyle={[styles.content, { paddingBottom: 24 + insets.bottom }]}
        keyboardShouldPersistTaps="handled"
        refreshControl={props.onRefresh ? <RefreshControl refreshing={!!props.refreshing} onRefresh={props.onRefresh} /> : undefined}
      >
        {props.children}
      </ScrollView>
    </View>
  );
}

const styles = StyleSheet.create({
  root: { flex: 1, backgroundColor: colors.background },
  header: {
    flexDirection: 'row',
    alignItems: 'center',
    gap: 8,
    paddingHorizontal: 12,
    paddingVertical: 10,
    backgroundColor: colors.surface,
    borderBottomWidth: 1,
    borderBottomColor: colors.border,
  },
  titleBox: { flex: 1, minWidth: 0 },
  subtitle: { color: colors.muted, fontSize: 13, marginTop: 2 },
  actions: { flexDirection: 'row', gap: 4 },
  bannerBox: { paddingHorizontal: 12, paddingTop: 8 },
  scroll: { flex: 1 },
  content: { padding: 12, gap: 12 },
});
