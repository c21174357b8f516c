// The realtime connection's state, when it is not simply live: "Connecting…", "Reconnecting…".
import { StyleSheet, Text, View } from 'react-native';
import { useConnectionStatus } from '../live/LiveProvider';
import { useOnline } from '../network';
import { colors } from './ui';

export function LiveStatus() {
  const status = useConnectionStatus();
  const online = useOnline();
  if (!online || status === 'open' || status === 'idle' || status === 'closed') return null;
  return (
    <View style={styles.box} role="status">
      <Text style={styles.text}>{status === 'connecting' ? 'Connecting to live updates…' : 'Reconnecting to live updates…'}</Text>
    </View>
  );
}

const styles = StyleSheet.create({
  box: { paddingHorizontal: 12, paddingVertical: 4, backgroundColor: colors.infoBg },
  text: { color: colors.info, fontSize: 13 },
});
