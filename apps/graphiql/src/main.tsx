// GraphiQL for graphql-edge. Queries and mutations go over HTTP to /graphql, subscriptions over the
// WebSocket of the same URL (graphql-transport-ws); the Headers tab's values go with both (as the
// socket's connection_init payload), so one `{"Authorization": "Bearer …"}` signs in everything.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';

import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createRoot } from 'react-dom/client';

import { endpoints } from './endpoints.ts';

const { url, subscriptionUrl } = endpoints(window.location);

const fetcher = createGraphiQLFetcher({ url, subscriptionUrl });

const defaultQuery = `# Platform SM GraphQL (${url})
#
# 1. Sign in (this mutation needs no credentials) and copy the accessToken:
#
#      mutation { login(email: "admin@platform.local", password: "…") { accessToken } }
#
# 2. Put it in the Headers tab below:  {"Authorization": "Bearer <accessToken>"}
#    (an API token works too). It goes with queries and with subscriptions.
#
# 3. Ask away; subscriptions arrive live in the result pane, e.g.
#
#      subscription { configChanged(projectId: "<id>") { seq type config { key value version } } }

query MyProjects {
  projects(first: 10) {
    totalCount
    edges { node { id slug name myRole } }
  }
}
`;

const container = document.getElementById('graphiql');
if (!container) throw new Error('no #graphiql element');
createRoot(container).render(<GraphiQL fetcher={fetcher} defaultQuery={defaultQuery} />);
