// GraphiQL for dirgate, served by the gateway itself. Queries and mutations go
// over HTTP POST with the headers typed into the header editor; subscriptions
// go over graphql-ws with the same Authorization header in connection_init.
(() => {
  const { React, ReactDOM, GraphiQL, graphqlWs } = window;
  const httpUrl = `${location.origin}/graphql`;
  const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
  const token = sessionStorage.getItem('dirgate-token');
  const defaultHeaders = JSON.stringify(
    { authorization: `Bearer ${token ?? '<paste the admin or reader token>'}` },
    null,
    2,
  );

  function headerValue(headers, name) {
    for (const [key, value] of Object.entries(headers ?? {})) {
      if (key.toLowerCase() === name) return String(value);
    }
    return undefined;
  }

  function isSubscription(params) {
    const query = params.query ?? '';
    if (params.operationName) {
      return new RegExp(`subscription\\s+${params.operationName}\\b`).test(query);
    }
    return /^\s*subscription\b/m.test(query.replace(/#.*$/gm, ''));
  }

  function subscribe(params, authorization) {
    const client = graphqlWs.createClient({
      url: wsUrl,
      lazy: true,
      retryAttempts: 0,
      connectionParams: authorization ? { authorization } : {},
    });
    const iterator = client.iterate(params);
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      next: () => iterator.next(),
      async return() {
        await iterator.return?.();
        await client.dispose();
        return { done: true, value: undefined };
      },
    };
  }

  async function fetcher(params, options) {
    const authorization = headerValue(options?.headers, 'authorization');
    if (isSubscription(params)) return subscribe(params, authorization);
    const response = await fetch(httpUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(options?.headers ?? {}),
      },
      body: JSON.stringify(params),
    });
    return response.json();
  }

  const root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultHeaders,
      headers: defaultHeaders,
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
      defaultQuery:
        '{\n  node {\n    name\n    hasWarning\n    connections { id name status userCount groupCount }\n  }\n}\n',
    }),
  );
})();
