// The small in-app notice ("Carl Colleague set release.percent to 25"): one at a time, newest
// wins, gone after a few seconds or when tapped.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { Pressable, StyleSheet, Text, View } from 'react-native';
import { useSafeAreaInsets } from 'react-native-safe-area-context';
import { colors } from './ui';

type Notify = (message: string) => void;

const Context = createContext<Notify>(() => {});

export function useNotify(): Notify {
  return useContext(Context);
}

export const NOTICE_MS = 6000;

export function NoticeProvider({ children }: { children: ReactNode }) {
  const [notice, setNotice] = useState<{ message: string; key: number } | null>(null);
  const notify = useCallback<Notify>((message) => setNotice((n) => ({ message, key: (n?.key ?? 0) + 1 })), []);
  const insets = useSafeAreaInsets();
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(() => setNotice(null), NOTICE_MS);
    return () => clearTimeout(t);
  }, [notice]);
  return (
    <Context.Provider value={notify}>
      {children}
      {notice && (
        <View pointerEvents="box-none" style={[styles.wrap, { bottom: 16 + insets.bottom }]}>
          <Pressable role="status" aria-label={notice.message} onPress={() => setNotice(null)} style={styles.notice}>
            <Text style={styles.text}>{notice.message}</Text>
          </Pressable>
        </View>
      )}
    </Context.Provider>
  );
}

const styles = StyleSheet.create({
  wrap: { position: 'absolute', left: 12, right: 12, alignItems: 'center' },
  notice: { backgroundColor: colors.text, borderRadius: 10, paddingVertical: 10, paddingHorizontal: 14, maxWidth: 480 },
  text: { color: '#fff', fontSize: 14 },
});
