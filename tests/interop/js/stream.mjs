// Real SDKs following Flagpole's streams, for tests/interop/test_streaming.py.
//
//   node stream.mjs unleash|ofrep-web BASE_URL
//
// `unleash`: the Node `unleash-client` in streaming mode (experimentalMode streaming:
// GET /api/client/streaming, no polling within the test's deadlines). `ofrep-web`:
// @openfeature/web-sdk with @openfeature/ofrep-web-provider and `changeDetection: 'sse'`,
// with the `eventsource` package as Node 20's missing global EventSource.
//
// Each run changes flags through the admin API (FLAGPOLE_ADMIN_AUTH) and waits for the
// SDK to see every change; the SDK authenticates with FLAGPOLE_SDK_AUTH. Prints
// {"sdk", "steps": [{"step", "ok", "ms"}]} and exits 1 when a step failed.

const [sdk, baseUrl] = process.argv.slice(2);
const sdkAuth = process.env.FLAGPOLE_SDK_AUTH;
const adminAuth = process.env.FLAGPOLE_ADMIN_AUTH;
const ENV = 'production';
const DEADLINE_MS = 5000;

const steps = [];

async function admin(method, path, body) {
  const response = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: { Authorization: adminAuth, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return response.status === 204 ? null : response.json();
}

// Runs `change`, then waits until `seen()` holds (checked on every SDK event and every
// 20 ms), recording how long it took.
async function step(name, change, seen, subscribe) {
  const started = Date.now();
  let ok = false;
  try {
    await change();
    ok = await new Promise((resolve) => {
      const finish = (value) => {
        clearInterval(timer);
        clearTimeout(deadline);
        unsubscribe();
        resolve(value);
      };
      const check = () => {
        try {
          if (seen()) finish(true);
        } catch {
          // not yet
        }
      };
      const unsubscribe = subscribe(check);
      const timer = setInterval(check, 20);
      const deadline = setTimeout(() => finish(false), DEADLINE_MS);
      check();
    });
  } catch (e) {
    steps.push({ step: name, ok: false, error: String(e), ms: Date.now() - started });
    return;
  }
  steps.push({ step: name, ok, ms: Date.now() - started });
}

async function runUnleash() {
  const { Unleash } = await import('unleash-client');
  const client = new Unleash({
    url: `${baseUrl}/api`,
    appName: 'flagpole-stream-interop',
    customHeaders: { Authorization: sdkAuth },
    experimentalMode: { type: 'streaming' },
    // Polling (the fallback) would take a minute: every change must come by the stream.
    refreshInterval: 60_000,
    disableMetrics: true,
    skipInstanceCountWarning: true,
  });
  const modes = [];
  client.on('mode', (m) => modes.push(m));
  client.on('error', () => {});
  client.on('warn', (w) => steps.push({ step: `warning: ${w}`, ok: true, ms: 0 }));
  const subscribe = (check) => {
    client.on('changed', check);
    return () => client.off('changed', check);
  };
  await step('connected: the flags arrive', async () => {}, () => client.getFeatureToggleDefinition('stream_flag') !== undefined, (check) => {
    client.on('synchronized', check);
    return () => client.off('synchronized', check);
  });
  await step('initial state: stream_flag is off', async () => {}, () => client.isEnabled('stream_flag') === false, subscribe);
  await step('feature-updated: enabling stream_flag', () => admin('POST', `/flags/stream_flag/environments/${ENV}/enable`), () => client.isEnabled('stream_flag') === true, subscribe);
  await step('feature-updated: a new flag', () => admin('POST', '/flags', { key: 'stream_new', environments: { [ENV]: { enabled: true } } }), () => client.isEnabled('stream_new') === true, subscribe);
  await step('feature-removed: deleting it', () => admin('DELETE', '/flags/stream_new'), () => client.getFeatureToggleDefinition('stream_new') === undefined && client.isEnabled('stream_new') === false, subscribe);
  await step('segment-updated: a segment and a flag using it', async () => {
    await admin('POST', '/segments', { name: 'stream_beta', conditions: [{ attribute: 'userId', operator: 'IN', values: ['42'] }] });
    await admin('POST', '/flags', { key: 'stream_seg', environments: { [ENV]: { enabled: true, rules: [{ segments: ['stream_beta'] }] } } });
  }, () => client.isEnabled('stream_seg', { userId: '42' }) === true && client.isEnabled('stream_seg', { userId: '7' }) === false, subscribe);
  await step('segment-updated: changing the segment', async () => {
    const segment = await admin('GET', '/segments/stream_beta');
    await admin('PUT', '/segments/stream_beta', { version: segment.version, conditions: [{ attribute: 'userId', operator: 'IN', values: ['7'] }] });
  }, () => client.isEnabled('stream_seg', { userId: '42' }) === false && client.isEnabled('stream_seg', { userId: '7' }) === true, subscribe);
  await step('feature-updated: disabling stream_flag', () => admin('POST', `/flags/stream_flag/environments/${ENV}/disable`), () => client.isEnabled('stream_flag') === false, subscribe);
  steps.push({ step: `stayed in streaming mode (mode events: ${JSON.stringify(modes)})`, ok: !modes.includes('polling'), ms: 0 });
  client.destroy();
}

async function runOfrepWeb() {
  const { EventSource } = await import('eventsource');
  globalThis.EventSource = EventSource;
  const { OpenFeature, ProviderEvents } = await import('@openfeature/web-sdk');
  const { OFREPWebProvider } = await import('@openfeature/ofrep-web-provider');
  const provider = new OFREPWebProvider({
    baseUrl,
    headers: [['Authorization', sdkAuth]],
    cacheMode: 'disabled',
    changeDetection: 'sse',
    pollInterval: 0,
    disableVisibilityRefresh: true,
  });
  await OpenFeature.setContext({ targetingKey: 'user-1' });
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient();
  const subscribe = (check) => {
    client.addHandler(ProviderEvents.ConfigurationChanged, check);
    return () => client.removeHandler(ProviderEvents.ConfigurationChanged, check);
  };
  await step('initial state: stream_flag is off', async () => {}, () => client.getBooleanValue('stream_flag', true) === false, subscribe);
  await step('refetchEvaluation: enabling stream_flag', () => admin('POST', `/flags/stream_flag/environments/${ENV}/enable`), () => client.getBooleanValue('stream_flag', false) === true, subscribe);
  await step('refetchEvaluation: disabling it again', () => admin('POST', `/flags/stream_flag/environments/${ENV}/disable`), () => client.getBooleanValue('stream_flag', true) === false, subscribe);
  await step('refetchEvaluation: a new flag', () => admin('POST', '/flags', { key: 'stream_web', environments: { [ENV]: { enabled: true } } }), () => client.getBooleanValue('stream_web', false) === true, subscribe);
  await OpenFeature.close();
}

try {
  if (sdk === 'unleash') await runUnleash();
  else if (sdk === 'ofrep-web') await runOfrepWeb();
  else {
    console.error('usage: node stream.mjs unleash|ofrep-web BASE_URL');
    process.exit(2);
  }
} catch (e) {
  steps.push({ step: `failed: ${e?.stack ?? e}`, ok: false, ms: 0 });
}
process.stdout.write(JSON.stringify({ sdk, steps }) + '\n');
process.exit(steps.every((s) => s.ok) ? 0 : 1);
