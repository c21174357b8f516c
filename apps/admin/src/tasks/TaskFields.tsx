import { LinearProgress, Box, Typography } from '@mui/material';
import { useRecordContext } from 'react-admin';

export function TaskProgressField(_props: { label?: string }) {
  const task = useRecordContext();
  if (!task) return null;
  const value = Number(task.progress ?? 0);
  return (
    <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, minWidth: 120 }}>
      <LinearProgress
        variant="determinate"
        value={value}
        sx={{ flex: 1 }}
        aria-label={`Progress ${value}%`}
        color={task.status === 'failed' || task.status === 'dead' ? 'error' : 'primary'}
      />
      <Typography variant="caption">{value}%</Typography>
    </Box>
  );
}
