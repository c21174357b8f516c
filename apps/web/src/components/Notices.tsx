// Short notices ("Alice set checkout.enabled to true"), one at a time, newest wins.
import { Alert, Snackbar } from '@mui/material';
import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';

type Notify = (message: string, severity?: 'info' | 'success' | 'warning' | 'error') => void;

const Context = createContext<Notify>(() => {});

export function useNotify(): Notify {
  return useContext(Context);
}

export function NoticeProvider({ children }: { children: ReactNode }) {
  const [notice, setNotice] = useState<{ message: string; severity: 'info' | 'success' | 'warning' | 'error'; key: number } | null>(null);
  const notify = useCallback<Notify>((message, severity = 'info') => setNotice({ message, severity, key: Date.now() }), []);
  return (
    <Context.Provider value={notify}>
      {children}
      <Snackbar
        key={notice?.key}
        open={notice !== null}
        autoHideDuration={6000}
        onClose={(_, reason) => reason !== 'clickaway' && setNotice(null)}
        anchorOrigin={{ vertical: 'bottom', horizontal: 'center' }}
      >
        <Alert severity={notice?.severity ?? 'info'} variant="filled" onClose={() => setNotice(null)} role="status" sx={{ width: '100%' }}>
          {notice?.message}
        </Alert>
      </Snackbar>
    </Context.Provider>
  );
}
