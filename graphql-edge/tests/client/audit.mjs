// The reference audit of the GraphQL-over-HTTP specification (npm graphql-http, serverAudits)
// against a running graphql-edge: node audit.mjs <url>. Prints every audit that is not "ok" and a
// summary line; exits 1 unless every audit is ok. Run by tests/tests/graphql_client.rs.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}
const counts = {};
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status !== 'ok') {
    console.log(`${result.status.toUpperCase()} ${audit.id} ${audit.name}: ${result.reason}`);
  }
}
console.log(`graphql-http audit: ${JSON.stringify(counts)}`);
process.exit(Object.keys(counts).every((status) => status === 'ok') ? 0 : 1);
