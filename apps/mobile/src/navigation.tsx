// A small stack of screens: the projects list, a project (with one of its configs' history open
// or not), the server settings. Every screen of the stack stays mounted (the ones below the top
// are hidden), so going back finds the list where it was. Android's back button pops the stack.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { BackHandler, Platform } from 'react-native';

export type Route =
  | { name: 'projects'; notice?: string }
  | { name: 'project'; projectId: string; title: string; historyOf?: string }
  | { name: 'settings' };

export interface Navigation {
  stack: Route[];
  push(route: Route): void;
  /** Replaces the top route (e.g. to open a config's history inside the same project). */
  replace(route: Route): void;
  back(): void;
  /** Back to a single route (e.g. the projects list after losing access to a project). */
  reset(route: Route): void;
}

const Context = createContext<Navigation | null>(null);

export function useNavigation(): Navigation {
  const n = useContext(Context);
  if (!n) throw new Error('useNavigation outside <NavigationProvider>');
  return n;
}

export function NavigationProvider({ initial, children }: { initial: Route; children: ReactNode }) {
  const [stack, setStack] = useState<Route[]>([initial]);
  const push = useCallback((r: Route) => setStack((s) => [...s, r]), []);
  const replace = useCallback((r: Route) => setStack((s) => [...s.slice(0, -1), r]), []);
  const back = useCallback(() => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)), []);
  const reset = useCallback((r: Route) => setStack([r]), []);
  // The back button needs the answer now (handled or not), so it reads the stack as rendered.
  const current = useRef(stack);
  current.current = stack;
  useEffect(() => {
    // Android's button (iOS has none; the web export has the browser's own).
    if (Platform.OS !== 'android') return;
    const sub = BackHandler.addEventListener('hardwareBackPress', () => {
      const s = current.current;
      const top = s[s.length - 1];
      if (top?.name === 'project' && top.historyOf) {
        replace({ ...top, historyOf: undefined });
        return true;
      }
      if (s.length > 1) {
        back();
        return true;
      }
      return false;
    });
    return () => sub.remove();
  }, [replace, back]);
  const value = useMemo(() => ({ stack, push, replace, back, reset }), [stack, push, replace, back, reset]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}
