// The Node `unleash-client` with a project token, for tests/interop/test_projects.py.
//
//   node projects.mjs BASE_URL TOKEN [NAME_PREFIX]
//
// Prints the names of the features the SDK fetched (as one JSON array) once it has
// synchronised, and exits; exits 1 on an SDK error or after 20 seconds.

import { initialize } from 'unleash-client';

const [baseUrl, token, namePrefix] = process.argv.slice(2);
const client = initialize({
  url: `${baseUrl}/api`,
  appName: 'flagpole-projects',
  environment: 'production',
  customHeaders: { Authorization: token },
  namePrefix,
  disableMetrics: true,
  refreshInterval: 60_000,
});
const timer = setTimeout(() => {
  console.error('the SDK did not synchronise within 20 s');
  process.exit(1);
}, 20_000);
client.on('error', (e) => {
  console.error(`SDK error: ${e}`);
  process.exit(1);
});
client.on('synchronized', () => {
  clearTimeout(timer);
  const names = client.getFeatureToggleDefinitions().map((f) => f.name).sort();
  console.log(JSON.stringify(names));
  client.destroy();
  process.exit(0);
});
