// Starts GraphiQL on the explorer page. It is a file of its own, not an
// inline script, so that the page's Content-Security-Policy can allow the
// gateway's own scripts and nothing else.
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var endpoint = root.dataset.endpoint;

  // GraphiQL's dialogs add a <style> element while they are open, which
  // the policy allows only with the nonce the page was served with; the
  // library reads it from this global.
  window.__webpack_nonce__ = root.dataset.styleNonce;

  // Subscriptions run over the same endpoint's websocket
  // (graphql-transport-ws). GraphiQL sends the Headers pane as the
  // connection_init payload, so a token put there as
  // {"Authorization": "Token …"} signs in the websocket as it does a
  // query; a browser cannot set headers on the upgrade request itself.
  var wsScheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  var fetcher = GraphiQL.createFetcher({
    url: location.origin + endpoint,
    subscriptionUrl: wsScheme + location.host + endpoint
  });

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: document.getElementById('welcome').content.textContent,
    defaultEditorToolsVisibility: 'headers',
    // Tokens stay out of the browser's storage unless the visitor asks
    // for it in GraphiQL's settings.
    shouldPersistHeaders: false,
    inputValueDeprecation: true
  }));
})();
