// The page `emb serve` shows at /: pick a collection, search it by meaning, read the ranked
// results, and see them on the collection's map (emb-plot's map page, in a frame). Clicking a
// result or a point lists that item's nearest neighbours. It talks to the server's JSON API only
// and inserts every piece of data as text, never as markup.
(function () {
  'use strict';

  const KEY_STORAGE = 'emb.apiKey';
  const COLLECTION_STORAGE = 'emb.collection';
  const PCA_ABOVE = 20000; // items; a first UMAP of more takes long, PCA is quick at any size
  const SLOW_MAP_ABOVE = 5000; // items; above this the map's loading message warns it may be slow
  const CONTENT_CHARACTERS = 500; // of an item's content put in the page (CSS shows a few lines)
  const METADATA_SHOWN = 6; // fields of an item's metadata shown; the rest are in its tooltip
  const VALUE_CHARACTERS = 48; // of a metadata value shown

  const element = (id) => document.getElementById(id);
  const collectionSelect = element('collection');
  const queryInput = element('query');
  const searchButton = element('search-button');
  const hybridBox = element('hybrid');
  const filterInput = element('filter');
  const countSelect = element('count');
  const backButton = element('back');
  const resultsTitle = element('results-title');
  const resultsSummary = element('results-summary');
  const resultsMessage = element('results-message');
  const resultsList = element('results');
  const mapPanel = element('map-panel');
  const mapTitle = element('map-title');
  const mapStatus = element('map-status');
  const methodSelect = element('map-method');
  const frame = element('map-frame');
  const mapOverlay = element('map-overlay');
  const keyButton = element('key-button');
  const keyDialog = element('key-dialog');
  const keyInput = element('api-key');

  const state = {
    collections: [], // as /v1/collections lists them
    collection: null, // the chosen entry of `collections`
    view: null, // what the list shows: see showQuery and showNeighbours
    history: [], // the views before it, for Back
    searches: 0, // counts searches, so that the answer to an older one is dropped
    items: new Map(), // id to item, of every result seen in this collection
  };

  // The map frame: a page of its own, which tells this one when it has drawn and which point was
  // clicked, and is told which points to highlight and which to centre on.
  const map = {
    loads: 0, // counts loads, so that an older map arriving late is dropped
    controller: null, // aborts the map being fetched
    ready: false, // the frame's map has drawn and listens
    highlight: [], // ids to highlight, sent again whenever a new map is ready
    focus: null, // the id centred on, likewise
    timer: 0, // ticks the loading message's seconds
  };

  // ---- Storage (may be unavailable, e.g. with cookies blocked) --------------------------------

  function readStorage(name) {
    try {
      return localStorage.getItem(name);
    } catch {
      return null;
    }
  }

  function writeStorage(name, value) {
    try {
      if (value === null) localStorage.removeItem(name);
      else localStorage.setItem(name, value);
    } catch {
      // Not kept across visits, nothing more.
    }
  }

  // ---- Requests ------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  let apiKey = readStorage(KEY_STORAGE);
  let keyPrompt = null; // the open prompt's promise, shared by every request that met a 401

  // Fetches `path` with the API key. A 401 asks for a key and tries again; other failures throw
  // an ApiError holding the server's message.
  async function request(path, options = {}) {
    for (;;) {
      const sentKey = apiKey;
      const headers = new Headers(options.headers);
      if (sentKey) headers.set('Authorization', 'Bearer ' + sentKey);
      let response;
      try {
        response = await fetch(path, { ...options, headers });
      } catch (error) {
        if (error.name === 'AbortError') throw error;
        throw new ApiError('Cannot reach the emb server at ' + location.host + '. Is `emb serve` still running?', 0);
      }
      if (response.status === 401) {
        // Another request may have brought a new key meanwhile: then just try with it.
        if (apiKey === sentKey) {
          await askForKey(sentKey ? 'The server did not accept this key. Enter another.' : 'This server needs an API key.');
        }
        continue;
      }
      if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
      return response;
    }
  }

  async function errorMessage(response) {
    const text = await response.text().catch(() => '');
    try {
      const message = JSON.parse(text).error.message;
      if (typeof message === 'string' && message !== '') return message;
    } catch {
      // Not the API's error shape: fall back to the text or the status.
    }
    return text.trim().slice(0, 300) || 'The server answered ' + response.status + ' ' + response.statusText + '.';
  }

  async function getJson(path) {
    return (await request(path)).json();
  }

  async function postJson(path, body) {
    const response = await request(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    return response.json();
  }

  function collectionPath(name, rest) {
    return '/v1/collections/' + encodeURIComponent(name) + '/' + rest;
  }

  // ---- API key -------------------------------------------------------------------------------

  function askForKey(reason) {
    if (keyPrompt !== null) return keyPrompt;
    keyPrompt = new Promise((resolve, reject) => {
      element('key-reason').textContent = reason;
      keyInput.value = '';
      const form = element('key-form');
      const cancel = element('key-cancel');
      const finish = () => {
        form.removeEventListener('submit', save);
        cancel.removeEventListener('click', stop);
        keyDialog.removeEventListener('cancel', stop);
        keyDialog.close();
        keyPrompt = null;
      };
      const save = (event) => {
        event.preventDefault();
        const key = keyInput.value.trim();
        if (key === '') return;
        apiKey = key;
        writeStorage(KEY_STORAGE, key);
        keyButton.hidden = false;
        finish();
        resolve();
      };
      const stop = (event) => {
        event.preventDefault();
        finish();
        reject(new ApiError('This server needs an API key: reload the page or click "API key" to enter one.', 401));
      };
      form.addEventListener('submit', save);
      cancel.addEventListener('click', stop);
      keyDialog.addEventListener('cancel', stop); // Escape
      keyDialog.showModal();
      keyInput.focus();
    });
    return keyPrompt;
  }

  // ---- Starting: the server and its collections ---------------------------------------------

  async function start() {
    try {
      const info = await getJson('/info');
      showInfo(info);
      await loadCollections();
    } catch (error) {
      collectionSelect.replaceChildren(option('', 'No collections'));
      showResultsMessage('error', error.message);
      showMapMessage('error', 'No map: the server could not be read.');
    }
  }

  function showInfo(info) {
    const server = element('server-info');
    server.textContent = 'emb ' + info.version;
    const models = Array.isArray(info.models) ? info.models.join(', ') : '';
    server.title = 'Database: ' + info.database + '\nModels: ' + (models || 'none');
    keyButton.hidden = !info.auth;
  }

  async function loadCollections() {
    const collections = (await getJson('/v1/collections')).data;
    state.collections = collections;
    if (collections.length === 0) {
      collectionSelect.replaceChildren(option('', 'No collections'));
      collectionSelect.disabled = true;
      resultsTitle.textContent = 'No collections yet';
      showResultsMessage('empty', 'This database holds no collections. Make one with', 'emb embed-multi NAME file.csv --store', 'then reload this page.');
      showMapMessage('empty', 'The map of a collection shows here.');
      return;
    }
    collectionSelect.replaceChildren(
      ...collections.map((collection) => option(collection.name, collection.name + ' (' + number(collection.count) + ')')),
    );
    collectionSelect.disabled = false;
    const stored = readStorage(COLLECTION_STORAGE);
    const chosen = collections.some((collection) => collection.name === stored) ? stored : collections[0].name;
    collectionSelect.value = chosen;
    selectCollection(chosen);
  }

  function selectCollection(name) {
    state.collection = state.collections.find((collection) => collection.name === name) || null;
    if (state.collection === null) return;
    writeStorage(COLLECTION_STORAGE, name);
    const collection = state.collection;
    state.searches++; // drops answers about the collection before
    state.view = null;
    state.history = [];
    state.items = new Map();
    queryInput.disabled = searchButton.disabled = false;
    methodSelect.disabled = false;
    methodSelect.value = collection.count > PCA_ABOVE ? 'pca' : 'umap';
    renderEmptyList();
    loadMap();
  }

  // ---- Results -------------------------------------------------------------------------------

  // A view is {kind: 'query', text, hybrid, filter} or {kind: 'neighbours', id, filter}; once
  // answered it also holds `results` and `seconds`.
  function runQuery() {
    const text = queryInput.value.trim();
    if (state.collection === null) return;
    if (text === '') {
      queryInput.focus();
      return;
    }
    state.history = [];
    search({ kind: 'query', text, hybrid: hybridBox.checked, filter: filterInput.value.trim() });
  }

  // Lists the nearest neighbours of item `id`; `centre` also centres the map on it (a point
  // clicked on the map is already in view).
  function showNeighbours(id, centre) {
    const view = state.view;
    if (view !== null && view.kind === 'neighbours' && view.id === id) return;
    if (view !== null && view.results) state.history.push(view);
    search({ kind: 'neighbours', id, filter: filterInput.value.trim(), centre });
  }

  async function search(view) {
    const collection = state.collection;
    const searchNumber = ++state.searches;
    state.view = view;
    renderTitle(view);
    resultsList.classList.add('stale');
    resultsList.dataset.state = 'loading';
    // Earlier results stay, faded, under the summary; with none the message says it.
    const waiting = view.kind === 'query' ? 'Searching…' : 'Finding the nearest neighbours…';
    const empty = resultsList.children.length === 0;
    resultsSummary.textContent = empty ? '' : waiting;
    if (empty) showResultsMessage('loading', waiting);
    const body = view.kind === 'query' ? { text: view.text } : { id: view.id };
    body.k = Number(countSelect.value);
    body.thumbnails = true;
    if (view.hybrid) body.hybrid = true;
    if (view.filter) body.filter = view.filter;
    const started = performance.now();
    try {
      const answer = await postJson(collectionPath(collection.name, 'search'), body);
      if (searchNumber !== state.searches) return;
      view.results = answer.data;
      view.seconds = (performance.now() - started) / 1000;
      for (const item of view.results) state.items.set(item.id, item);
      renderView(view);
    } catch (error) {
      if (searchNumber !== state.searches) return;
      resultsList.replaceChildren();
      resultsList.classList.remove('stale');
      resultsList.dataset.state = 'error';
      resultsSummary.textContent = '';
      showResultsMessage('error', error.message);
      highlightOnMap([]);
      focusOnMap(null);
    }
  }

  function goBack() {
    const view = state.history.pop();
    if (view === undefined) return;
    state.searches++; // a search still under way is no longer wanted
    state.view = view;
    renderView(view);
  }

  function renderTitle(view) {
    backButton.hidden = state.history.length === 0;
    resultsList.dataset.view = view.kind;
    if (view.kind === 'query') {
      resultsTitle.textContent = 'Results';
      delete resultsList.dataset.source;
    } else {
      resultsTitle.textContent = 'Nearest neighbours';
      resultsList.dataset.source = view.id;
    }
  }

  function renderView(view) {
    renderTitle(view);
    const results = view.results;
    const scoreMeaning = view.hybrid
      ? 'Fused score: the reciprocal ranks by meaning and by keywords, summed'
      : 'Cosine similarity, from -1 to 1';
    const rows = results.map((item, index) => resultRow(item, index, scoreMeaning));
    if (view.kind === 'neighbours') rows.unshift(sourceRow(view.id));
    resultsList.replaceChildren(...rows);
    resultsList.classList.remove('stale');
    resultsList.dataset.state = 'ready';
    const seconds = view.seconds.toFixed(2) + ' s';
    if (view.kind === 'query') {
      const kind = view.hybrid ? ' (hybrid)' : '';
      resultsSummary.textContent = plural(results.length, 'result') + kind + ' for “' + view.text + '” · ' + seconds;
    } else {
      resultsSummary.textContent = plural(results.length, 'nearest neighbour') + ' · ' + seconds;
    }
    if (view.filter) resultsSummary.textContent += ' · filter ' + view.filter;
    if (results.length === 0) {
      showResultsMessage('empty', view.filter ? 'Nothing matches: try another query or loosen the filter.' : 'Nothing found.');
    } else {
      resultsMessage.hidden = true;
    }
    const ids = results.map((item) => item.id);
    if (view.kind === 'neighbours') {
      highlightOnMap([view.id, ...ids]);
      if (view.centre) focusOnMap(view.id);
      else map.focus = view.id;
    } else {
      highlightOnMap(ids);
      focusOnMap(null);
    }
  }

  function renderEmptyList() {
    resultsList.replaceChildren();
    resultsList.classList.remove('stale');
    resultsList.dataset.state = 'empty';
    delete resultsList.dataset.view;
    delete resultsList.dataset.source;
    backButton.hidden = true;
    const collection = state.collection;
    resultsTitle.textContent = 'Results';
    resultsSummary.textContent =
      number(collection.count) + ' items · ' + collection.model + ' · ' + collection.dimensions + ' dimensions';
    showResultsMessage('hint', 'Type a query and press Enter to search ' + collection.name + ' by meaning. Click a result or a point on the map to list its nearest neighbours.');
    highlightOnMap([]);
    focusOnMap(null);
  }

  // One result: rank, id, score, the start of its content, and its metadata.
  function resultRow(item, index, scoreMeaning) {
    const row = document.createElement('li');
    row.dataset.id = item.id;
    row.dataset.score = String(item.score);
    row.tabIndex = 0;
    row.title = 'Show the nearest neighbours of ' + item.id;
    const head = document.createElement('div');
    head.className = 'head';
    const score = span('score', typeof item.score === 'number' ? item.score.toFixed(3) : '–');
    score.title = scoreMeaning;
    head.append(span('rank', String(index + 1)), span('id', item.id), score);
    row.append(head, ...itemDetails(item));
    const open = () => showNeighbours(item.id, true);
    row.addEventListener('click', open);
    row.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        open();
      }
    });
    return row;
  }

  // The item whose neighbours are listed, shown first with what is known of it.
  function sourceRow(id) {
    const row = document.createElement('li');
    row.className = 'source';
    const head = document.createElement('div');
    head.className = 'head';
    head.append(span('label', 'Neighbours of'), span('id', id));
    row.append(head);
    const item = state.items.get(id);
    if (item !== undefined) row.append(...itemDetails(item));
    return row;
  }

  function itemDetails(item) {
    const details = [];
    if (typeof item.thumbnail === 'string') {
      const picture = document.createElement('img');
      picture.className = 'thumbnail';
      picture.alt = item.id;
      // Small pictures (MNIST's 28x28) are enlarged as blocks of pixels rather than blurred.
      picture.onload = () => {
        if (picture.naturalHeight < 48) picture.style.imageRendering = 'pixelated';
      };
      picture.src = item.thumbnail;
      details.push(picture);
    }
    if (typeof item.content === 'string' && item.content.trim() !== '') {
      const content = document.createElement('p');
      content.className = 'content';
      content.textContent = truncate(item.content.trim(), CONTENT_CHARACTERS);
      details.push(content);
    }
    if (item.metadata !== null && typeof item.metadata === 'object') {
      const entries = Object.entries(item.metadata);
      if (entries.length > 0) details.push(metadataList(entries));
    }
    return details;
  }

  function metadataList(entries) {
    const list = document.createElement('dl');
    list.className = 'metadata';
    list.title = entries.map(([name, value]) => name + ': ' + valueText(value)).join('\n');
    for (const [name, value] of entries.slice(0, METADATA_SHOWN)) {
      const pair = document.createElement('div');
      const term = document.createElement('dt');
      term.textContent = name;
      const definition = document.createElement('dd');
      definition.textContent = truncate(valueText(value), VALUE_CHARACTERS);
      pair.append(term, definition);
      list.append(pair);
    }
    if (entries.length > METADATA_SHOWN) {
      const more = document.createElement('div');
      more.className = 'more';
      more.textContent = '+' + (entries.length - METADATA_SHOWN) + ' more';
      list.append(more);
    }
    return list;
  }

  // `kind` is hint, loading, empty or error; `command`, when given, is shown as code between
  // `text` and `after`.
  function showResultsMessage(kind, text, command, after) {
    resultsMessage.hidden = false;
    resultsMessage.dataset.kind = kind;
    resultsMessage.replaceChildren(document.createTextNode(text));
    if (command) {
      const code = document.createElement('code');
      code.textContent = command;
      resultsMessage.append(' ', code, ' ' + (after || ''));
    }
  }

  // ---- The map -------------------------------------------------------------------------------

  async function loadMap() {
    const collection = state.collection;
    const method = methodSelect.value;
    const loadNumber = ++map.loads;
    if (map.controller !== null) map.controller.abort();
    map.controller = new AbortController();
    map.ready = false;
    mapTitle.textContent = 'Map of ' + collection.name;
    const methodName = methodSelect.selectedOptions[0].textContent;
    const slow = method !== 'pca' && collection.count > SLOW_MAP_ABOVE;
    showMapMessage(
      'loading',
      'Drawing the map (' + methodName + ', ' + number(collection.count) + ' items)…',
      slow ? 'The first ' + methodName + ' of a large collection can take a minute; PCA is quick.' : '',
    );
    const started = Date.now();
    clearInterval(map.timer);
    const tick = () => {
      mapStatus.textContent = 'drawing… ' + Math.round((Date.now() - started) / 1000) + ' s';
    };
    tick();
    map.timer = setInterval(tick, 1000);
    try {
      const path = collectionPath(collection.name, 'map.html') + '?method=' + encodeURIComponent(method);
      const response = await request(path, { signal: map.controller.signal });
      const page = await response.text();
      if (loadNumber !== map.loads) return;
      frame.dataset.load = String(loadNumber);
      frame.srcdoc = page; // the frame says when it has drawn: see the message listener
    } catch (error) {
      if (error.name === 'AbortError' || loadNumber !== map.loads) return;
      clearInterval(map.timer);
      mapStatus.textContent = '';
      showMapMessage('error', 'The map could not be drawn: ' + error.message, '', true);
      if (method !== 'pca') mapOverlay.append(usePcaButton());
    }
  }

  // PCA draws any collection quickly, so it is the way out when another layout fails.
  function usePcaButton() {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Use PCA instead';
    button.addEventListener('click', () => {
      methodSelect.value = 'pca';
      loadMap();
    });
    return button;
  }

  function mapReady(points) {
    map.ready = true;
    clearInterval(map.timer);
    mapPanel.dataset.state = 'ready';
    mapOverlay.hidden = true;
    const methodName = methodSelect.selectedOptions[0].textContent;
    mapStatus.textContent = (points === null ? '' : number(points) + ' points · ') + methodName;
    tellMap({ type: 'emb-map-highlight', ids: map.highlight });
    if (map.focus !== null) tellMap({ type: 'emb-map-focus', id: map.focus });
  }

  function tellMap(message) {
    // The frame is sandboxed, so its origin is opaque and '*' is the only target that reaches it.
    if (map.ready) frame.contentWindow.postMessage(message, '*');
  }

  function highlightOnMap(ids) {
    map.highlight = ids;
    tellMap({ type: 'emb-map-highlight', ids });
  }

  function focusOnMap(id) {
    map.focus = id;
    tellMap({ type: 'emb-map-focus', id });
  }

  // `kind` is loading, empty or error; `retry` adds a button that loads the map again.
  function showMapMessage(kind, text, detail, retry) {
    mapPanel.dataset.state = kind;
    mapOverlay.hidden = false;
    mapOverlay.dataset.kind = kind;
    const lines = [document.createElement('p')];
    lines[0].textContent = text;
    if (kind === 'loading') lines.unshift(span('spinner', ''));
    if (detail) {
      const note = document.createElement('p');
      note.className = 'detail';
      note.textContent = detail;
      lines.push(note);
    }
    if (retry) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = 'Try again';
      button.addEventListener('click', loadMap);
      lines.push(button);
    }
    mapOverlay.replaceChildren(...lines);
  }

  window.addEventListener('message', (event) => {
    const message = event.data;
    if (event.source !== frame.contentWindow || message === null || typeof message !== 'object') return;
    if (message.type === 'emb-map-ready') {
      mapReady(typeof message.points === 'number' ? message.points : null);
    } else if (message.type === 'emb-map-click' && typeof message.id === 'string') {
      showNeighbours(message.id, false);
    }
  });

  // A map page that never says it is ready (one from an older emb) is shown once it has loaded.
  frame.addEventListener('load', () => {
    const loadNumber = Number(frame.dataset.load);
    setTimeout(() => {
      if (!map.ready && loadNumber === map.loads && frame.srcdoc !== '') mapReady(null);
    }, 1000);
  });

  // ---- Small helpers -------------------------------------------------------------------------

  function option(value, text) {
    const choice = document.createElement('option');
    choice.value = value;
    choice.textContent = text;
    return choice;
  }

  function span(className, text) {
    const part = document.createElement('span');
    part.className = className;
    part.textContent = text;
    return part;
  }

  function number(value) {
    return Number(value).toLocaleString('en');
  }

  function plural(count, noun) {
    return number(count) + ' ' + noun + (count === 1 ? '' : 's');
  }

  function truncate(text, characters) {
    const points = Array.from(text); // whole characters, not UTF-16 halves
    return points.length <= characters ? text : points.slice(0, characters - 1).join('') + '…';
  }

  function valueText(value) {
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  // ---- Events --------------------------------------------------------------------------------

  element('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    runQuery();
  });
  collectionSelect.addEventListener('change', () => selectCollection(collectionSelect.value));
  methodSelect.addEventListener('change', loadMap);
  backButton.addEventListener('click', goBack);
  // Options that change the answer ask again for what is shown.
  hybridBox.addEventListener('change', () => {
    if (state.view !== null && state.view.kind === 'query') runQuery();
  });
  countSelect.addEventListener('change', () => {
    if (state.view !== null) search({ ...state.view, results: undefined });
  });
  keyButton.addEventListener('click', () => {
    askForKey('Enter the API key of this server.').then(start, () => {});
  });
  document.addEventListener('keydown', (event) => {
    // "/" jumps to the query box, as on many search pages.
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement;
    if (event.key === '/' && !typing && !keyDialog.open) {
      event.preventDefault();
      queryInput.focus();
    }
  });

  start();
})();
