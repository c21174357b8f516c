// The Expo app config. The platform's API addresses are read when the dev server or an export
// starts — PLATFORM_GRAPHQL_URL (graphql-edge's /graphql) and PLATFORM_REALTIME_URL
// (realtime-edge's /ws) — and reach the app as `extra.platform`; nothing is hard-coded. A person
// can change them on the app's Server settings screen, and the web export reads `config.json`
// beside its index.html first (src/config.ts).
import type { ConfigContext, ExpoConfig } from 'expo/config';

export default ({ config }: ConfigContext): ExpoConfig => {
  const graphqlUrl = process.env.PLATFORM_GRAPHQL_URL;
  const realtimeUrl = process.env.PLATFORM_REALTIME_URL;
  return {
    ...config,
    name: 'Platform SM',
    slug: 'platform-sm',
    version: '0.1.0',
    orientation: 'portrait',
    userInterfaceStyle: 'light',
    platforms: ['ios', 'android', 'web'],
    ios: { bundleIdentifier: 'com.platformsm.mobile' },
    android: { package: 'com.platformsm.mobile' },
    web: { output: 'single', bundler: 'metro' },
    extra: {
      platform: graphqlUrl || realtimeUrl ? { graphqlUrl, realtimeUrl } : null,
    },
  };
};
