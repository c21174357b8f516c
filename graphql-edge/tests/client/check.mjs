// Drives graphql-edge with graphql-request, as a web or mobile app would.
// Usage: node check.mjs <graphql url> <email> <password>; exits non-zero on any mismatch.
import { GraphQLClient, ClientError, gql } from 'graphql-request';

const [url, email, password] = process.argv.slice(2);
const assert = (cond, msg) => {
  if (!cond) {
    console.error(`FAIL: ${msg}`);
    process.exit(1);
  }
};

const anonymous = new GraphQLClient(url);
const { login } = await anonymous.request(
  gql`mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) { accessToken user { email } }
  }`,
  { email, password },
);
assert(login.user.email === email, 'login returns the user');

const client = new GraphQLClient(url, { headers: { authorization: `Bearer ${login.accessToken}` } });
const slug = `client-${Date.now()}`;
const { createProject } = await client.request(
  gql`mutation Create($input: CreateProjectInput!) { createProject(input: $input) { id slug myRole } }`,
  { input: { slug, name: 'Client check' } },
);
assert(createProject.myRole === 'OWNER', 'creator is owner');

await client.request(
  gql`mutation Set($p: ID!, $v: JSON) { setConfig(projectId: $p, key: "theme", value: $v, expectedVersion: 0) { version } }`,
  { p: createProject.id, v: { dark: true } },
);
const { project } = await client.request(
  gql`query Project($slug: String) { project(slug: $slug) { configValues configs { totalCount } } }`,
  { slug },
);
assert(project.configValues.theme.dark === true, 'configValues round-trips JSON');
assert(project.configs.totalCount === 1, 'one config');

try {
  await client.request(
    gql`mutation Set($p: ID!) { setConfig(projectId: $p, key: "theme", value: 1, expectedVersion: 5) { version } }`,
    { p: createProject.id },
  );
  assert(false, 'stale write must fail');
} catch (e) {
  assert(e instanceof ClientError, `a GraphQL error, not ${e}`);
  const ext = e.response.errors[0].extensions;
  assert(ext.code === 'CONFLICT' && ext.reason === 'VERSION_MISMATCH', `conflict: ${JSON.stringify(ext)}`);
}

try {
  await anonymous.request(gql`{ me { id } }`);
  assert(false, 'anonymous me must fail');
} catch (e) {
  assert(e.response.errors[0].extensions.code === 'UNAUTHENTICATED', 'unauthenticated');
}
console.log('graphql-request client: ok');
