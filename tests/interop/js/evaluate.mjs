// Evaluates flags through OpenFeature's JavaScript SDKs and OFREP providers against a
// running Flagpole, for tests/interop/test_sdks.py, which compares the answers with the
// native API's.
//
//   node evaluate.mjs server|web BASE_URL CASES_JSON
//
// CASES_JSON: {"contexts": [{"id": 0, "context": {...}}], "evaluations": [{"key": "k",
// "kind": "boolean|string|number|object"}], "defaults": {"boolean": false, ...}}.
// Every evaluation runs for every context. Prints {"sdk": ..., "results": [...]}: one
// result per (context, evaluation) with the value, variant, reason, error code and error
// message the SDK returned to the application.
//
// `server`: @openfeature/server-sdk with @openfeature/ofrep-provider (one OFREP request
// per evaluation, the context passed with each). `web`: @openfeature/web-sdk with
// @openfeature/ofrep-web-provider (a bulk request per context change; evaluations are
// then local), with its persistent cache disabled and no background refresh.
// FLAGPOLE_SDK_AUTH, when set, is sent as the Authorization header.

import { readFileSync } from 'node:fs';

const [sdk, baseUrl, casesFile] = process.argv.slice(2);
if (!['server', 'web'].includes(sdk) || !baseUrl || !casesFile) {
  console.error('usage: node evaluate.mjs server|web BASE_URL CASES_JSON');
  process.exit(2);
}
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const auth = process.env.FLAGPOLE_SDK_AUTH;
const headers = auth ? [['Authorization', auth]] : [];

const getters = {
  boolean: 'getBooleanDetails',
  string: 'getStringDetails',
  number: 'getNumberDetails',
  object: 'getObjectDetails',
};

function result(contextId, evaluation, details) {
  return {
    context: contextId,
    key: evaluation.key,
    kind: evaluation.kind,
    value: details.value,
    variant: details.variant ?? null,
    reason: details.reason ?? null,
    errorCode: details.errorCode ?? null,
    errorMessage: details.errorMessage ?? null,
  };
}

async function runServer() {
  const { OpenFeature } = await import('@openfeature/server-sdk');
  const { OFREPProvider } = await import('@openfeature/ofrep-provider');
  await OpenFeature.setProviderAndWait('flagpole', new OFREPProvider({ baseUrl, headers }));
  const client = OpenFeature.getClient('flagpole');
  const results = [];
  for (const { id, context } of cases.contexts) {
    const answers = await Promise.all(
      cases.evaluations.map(async (evaluation) => {
        const getter = client[getters[evaluation.kind]].bind(client);
        const details = await getter(evaluation.key, cases.defaults[evaluation.kind], context);
        return result(id, evaluation, details);
      }),
    );
    results.push(...answers);
  }
  await OpenFeature.close();
  return results;
}

async function runWeb() {
  const { OpenFeature } = await import('@openfeature/web-sdk');
  const { OFREPWebProvider } = await import('@openfeature/ofrep-web-provider');
  const provider = new OFREPWebProvider({
    baseUrl,
    headers,
    cacheMode: 'disabled',
    changeDetection: 'none',
    pollInterval: 0,
    disableVisibilityRefresh: true,
  });
  const [first, ...rest] = cases.contexts;
  await OpenFeature.setContext(first.context);
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient();
  const results = [];
  for (const { id, context } of [first, ...rest]) {
    if (id !== first.id) {
      // Resolves once the provider has fetched the flags for the new context.
      await OpenFeature.setContext(context);
    }
    for (const evaluation of cases.evaluations) {
      const details = client[getters[evaluation.kind]](evaluation.key, cases.defaults[evaluation.kind]);
      results.push(result(id, evaluation, details));
    }
  }
  await OpenFeature.close();
  return results;
}

const results = sdk === 'server' ? await runServer() : await runWeb();
process.stdout.write(JSON.stringify({ sdk, results }));
process.stdout.write('\n');
