// SPDX-License-Identifier: AGPL-3.0-or-later
//
// A minimal ActivityPub peer built on Fedify (an implementation this project
// did not write), used by Hearth's `fedify_peer` integration test.
//
//   node peer.mjs --port <port> --group acct:peers@localhost:<hearthPort>
//                 [--scenario follow|reply] [--timeout-ms 60000] [--expect accept]
//
// It serves one actor, `peer`, at http://localhost:<port>/users/peer (bound
// to 127.0.0.1), resolves the group with Fedify's own WebFinger and JSON-LD
// code, sends it a signed Follow and waits for an Accept of that Follow,
// which Fedify verifies (HTTP signature, key owner == activity actor) before
// our inbox listeners run.
//
// Scenarios:
//   follow (default)  exit 0 once the Follow is accepted.
//   reply             after the Accept, wait for the group to Announce a new
//                     thread (a `Page`), as the author's `Create` embedded in
//                     the Announce and/or as a bare reference to the Page
//                     (looked up with a request signed by the peer: Hearth
//                     serves members-only posts to members' servers only);
//                     reply to it with a `Create` of a `Note` sent to the
//                     group; wait for the group to Announce that reply back.
//                     Then keep serving until stdin closes (the group's other
//                     member servers look up the reply's author, this peer,
//                     whenever the Announce reaches them) and exit 0.
//
// stdout carries one JSON object per line, the events the test asserts on:
//   {"event":"listening",...} {"event":"resolved",...}
//   {"event":"sent-follow",...} {"event":"accepted",...}
//   reply only: {"event":"announced","via":"create"|"bare",...}, once per
//   way the thread arrived (a second one may come after "sent-reply"),
//   {"event":"sent-reply",...} and {"event":"reply-announced",...} last.
//   On failure (including an announced thread Fedify cannot use):
//   {"event":"error","message":...} and exit 1.
// Diagnostics (including Fedify's own debug log) go to stderr.

import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import process from "node:process";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";

import {
  Accept,
  Announce,
  Create,
  Endpoints,
  Follow,
  MemoryKvStore,
  Mention,
  Note,
  Page,
  Person,
  Source,
  createFederation,
  generateCryptoKeyPair,
  isActor,
} from "@fedify/fedify";
import { configure, getStreamSink } from "@logtape/logtape";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    group: { type: "string" },
    scenario: { type: "string", default: "follow" },
    "timeout-ms": { type: "string", default: "60000" },
    expect: { type: "string", default: "accept" },
  },
  strict: true,
});

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function log(...parts) {
  process.stderr.write(`[peer] ${parts.join(" ")}\n`);
}

let finished = false;
function finish(code, event) {
  if (finished) return;
  finished = true;
  emit(event);
  // Let stdout drain before exiting.
  process.stdout.write("", () => process.exit(code));
}

function fail(message, extra = {}) {
  log("error:", message);
  finish(1, { event: "error", message, ...extra });
}

process.on("uncaughtException", (e) => fail(`uncaught: ${e?.stack ?? e}`));
process.on("unhandledRejection", (e) => fail(`unhandled: ${e?.stack ?? e}`));

const port = Number.parseInt(args.port ?? "", 10);
const timeoutMs = Number.parseInt(args["timeout-ms"], 10);
const groupHandle = args.group ?? "";
const groupMatch = /^acct:([^@]+)@(.+)$/.exec(groupHandle);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  fail("--port <port> is required");
} else if (groupMatch == null) {
  fail("--group acct:<name>@<host:port> is required");
} else if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
  fail("--timeout-ms must be a positive integer");
} else if (args.expect !== "accept") {
  fail(`unsupported --expect ${args.expect} (only "accept")`);
} else if (args.scenario !== "follow" && args.scenario !== "reply") {
  fail(`unsupported --scenario ${args.scenario} ("follow" or "reply")`);
} else {
  await main(groupMatch[1], groupMatch[2]);
}

/** The first value of a JSON-LD compacted property (one value or an array). */
function first(value) {
  return Array.isArray(value) ? value[0] : value;
}

/** A vocabulary object's type name, e.g. "Page", for logs and events. */
function typeName(object) {
  if (object instanceof URL) return "URL";
  return object?.constructor?.typeId?.href?.replace(/^.*#/, "") ??
    (object == null ? null : typeof object);
}

async function main(groupName, groupHost) {
  const reply = args.scenario === "reply";
  const state = {
    // What the peer waits for now, for the timeout message.
    waitingFor: "the group's Accept",
    group: null,
    followId: null,
    groupId: null,
    sent: false,
    accepted: null,
    acceptedReported: false,
    // reply scenario
    announced: new Set(), // "<via> <page id>" already reported
    page: null, // the Page the peer replies to
    replyId: null,
    replySent: false,
    replyAnnounced: null, // the reply-announced event, once it came
    graceTimer: null,
  };

  const timer = setTimeout(
    () => fail(`timed out after ${timeoutMs} ms waiting for ${state.waitingFor}`),
    timeoutMs,
  );

  // Fedify's own log, to stderr, for diagnosing interop failures.
  await configure({
    contextLocalStorage: new AsyncLocalStorage(),
    sinks: {
      stderr: getStreamSink(Writable.toWeb(process.stderr)),
    },
    loggers: [
      { category: ["fedify"], sinks: ["stderr"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });

  // Hearth's test mode serves plain HTTP, but Fedify always looks up
  // `acct:` handles at https://<host>/.well-known/webfinger. Stand in for a
  // TLS-terminating proxy for exactly that one host: rewrite https:// to
  // http:// for the group's host and nothing else. Everything else (the
  // WebFinger request and its parsing, actor fetches, JSON-LD, signatures)
  // is Fedify's own code.
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol === "https:" && url.host === groupHost) {
      url.protocol = "http:";
      log("no TLS in Hearth's test mode; fetching", url.href);
      input = input instanceof Request ? new Request(url, input) : url;
    }
    return realFetch(input, init);
  };

  const origin = `http://localhost:${port}`;
  const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
  // The inbox request being handled ({headers, json}), for the report and
  // to tell an embedded object from a bare reference.
  const currentRequest = new AsyncLocalStorage();
  const signatureKeyId = () =>
    currentRequest.getStore()?.headers.get("signature")?.match(/keyId="([^"]*)"/)?.[1] ??
      null;

  // Hearth may deliver the Accept before our POST of the Follow has been
  // answered; report in order: sent-follow, then accepted.
  const maybeAccepted = () => {
    if (!state.sent || state.accepted == null || state.acceptedReported) return;
    state.acceptedReported = true;
    if (!reply) {
      clearTimeout(timer);
      finish(0, state.accepted);
      return;
    }
    emit(state.accepted);
    state.waitingFor = "the group to Announce a new thread";
  };

  // The reply scenario ends with `reply-announced`. Hearth announces a new
  // thread two ways (the author's Create, then the bare Page); when only one
  // has come by then, allow the other a short while before ending.
  const maybeFinishReply = () => {
    if (finished || !state.replySent || state.replyAnnounced == null) return;
    const ways = new Set([...state.announced].map((key) => key.split(" ")[0]));
    const done = () => {
      clearTimeout(timer);
      emit(state.replyAnnounced);
      serveUntilStdinCloses();
    };
    if (ways.has("create") && ways.has("bare")) {
      clearTimeout(state.graceTimer);
      done();
    } else if (state.graceTimer == null) {
      log("the thread came only via", [...ways].join(", "), "; waiting 3 s for the other way");
      state.waitingFor = "nothing (grace period)";
      state.graceTimer = setTimeout(done, 3000);
    }
  };

  // After the last event: keep answering requests until stdin closes, then
  // stop accepting connections, finish the requests in flight and exit 0.
  let server = null;
  function serveUntilStdinCloses() {
    finished = true; // nothing more is reported
    state.waitingFor = "stdin to close";
    log("done; serving until stdin closes");
    setTimeout(() => {
      log(`not stopped ${timeoutMs} ms after the last event; exiting 1`);
      process.exit(1);
    }, timeoutMs).unref();
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      log("stdin closed; exiting");
      server.close(() => process.stdout.write("", () => process.exit(0)));
      // A request in flight now leaves its keep-alive connection idle
      // once answered: close those too as they come, or close() waits for
      // the client to hang up.
      server.closeIdleConnections();
      setInterval(() => server.closeIdleConnections(), 100).unref();
      // Every event was reported before stdin closed: a connection still
      // open two seconds on (a client that never sends its request, or
      // waits on an answer that needs a server the test already stopped)
      // only keeps this process from exiting, so it is closed, and the
      // peer exits 0 whatever still holds the event loop.
      setTimeout(() => {
        log("connections still open 2 s after stdin closed; closing them");
        server.closeAllConnections();
        setTimeout(() => process.stdout.write("", () => process.exit(0)), 500).unref();
      }, 2000).unref();
    };
    process.stdin.once("end", stop);
    process.stdin.once("error", stop);
    process.stdin.resume();
  }

  const federation = createFederation({
    kv: new MemoryKvStore(),
    origin,
    allowPrivateAddress: true,
    // No queue: sends and inbox processing happen in this process, at once.
  });

  federation
    .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
      if (identifier !== "peer") return null;
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Person({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Fedify peer",
        summary: "A Fedify-based test peer for Hearth.",
        inbox: ctx.getInboxUri(identifier),
        endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
        url: ctx.getActorUri(identifier),
        publicKey: keys[0].cryptographicKey,
        assertionMethods: keys.map((k) => k.multikey),
      });
    })
    .setKeyPairsDispatcher((_ctx, identifier) =>
      identifier === "peer" ? [keyPair] : []
    );

  // Reply to the announced thread `page` with a Create of a Note, sent to
  // the group's inbox.
  async function sendReply(ctx, page) {
    const group = state.group;
    const me = ctx.getActorUri("peer");
    const noteId = new URL(`${origin}/notes/${crypto.randomUUID()}`);
    const followers = group.followersId;
    const addressing = {
      to: group.id,
      ...(followers == null ? {} : { cc: followers }),
      audience: group.id,
    };
    const note = new Note({
      id: noteId,
      attribution: me,
      replyTarget: page.id,
      content: "<p>Me too – pacing helps.</p>",
      mediaType: "text/html",
      source: new Source({ content: "Me too – pacing helps.", mediaType: "text/markdown" }),
      tags: [new Mention({ href: group.id, name: `@${groupName}@${groupHost}` })],
      ...addressing,
    });
    const create = new Create({
      id: new URL(`${origin}/creates/${crypto.randomUUID()}`),
      actor: me,
      object: note,
      ...addressing,
    });
    state.replyId = noteId.href;
    state.waitingFor = "the reply to be sent";
    try {
      await ctx.sendActivity({ identifier: "peer" }, group, create);
    } catch (error) {
      fail(`sending the reply failed: ${error?.message ?? error}`);
      return;
    }
    emit({
      event: "sent-reply",
      id: noteId.href,
      create: create.id.href,
      inReplyTo: page.id?.href ?? null,
    });
    state.replySent = true;
    state.waitingFor = "the group to Announce our reply";
    maybeFinishReply();
  }

  // An Announce from the group in the reply scenario: a thread (via its
  // Create, or bare), or our own reply coming back.
  async function onAnnounce(ctx, announce) {
    const json = currentRequest.getStore()?.json;
    if (announce.actorId?.href !== state.groupId) {
      log("Announce's actor is not the group:", announce.actorId?.href);
      return;
    }
    // Members-only posts are served only to members' servers: fetch as the
    // peer, with requests Fedify signs.
    const documentLoader = await ctx.getDocumentLoader({ identifier: "peer" });
    const options = { documentLoader, contextLoader: ctx.contextLoader };
    const rawObject = first(json?.object);
    const bare = typeof rawObject === "string";
    let object;
    try {
      object = bare
        ? await ctx.lookupObject(rawObject, options)
        : await announce.getObject(options);
    } catch (error) {
      fail(`cannot get the object of ${announce.id?.href}: ${error?.message ?? error}`, {
        announce: announce.id?.href ?? null,
        object: announce.objectId?.href ?? null,
      });
      return;
    }
    if (object == null) {
      fail(`cannot get the object of ${announce.id?.href}: Fedify found nothing`, {
        announce: announce.id?.href ?? null,
        object: announce.objectId?.href ?? null,
      });
      return;
    }
    let create = null;
    let inner = object;
    if (object instanceof Create) {
      create = object;
      try {
        inner = await create.getObject(options);
      } catch (error) {
        fail(`cannot get the object of ${create.id?.href}: ${error?.message ?? error}`, {
          announce: announce.id?.href ?? null,
          object: create.objectId?.href ?? null,
        });
        return;
      }
    }
    const via = create != null ? "create" : "bare";
    log(
      `Announce ${announce.id?.href}: ${bare ? "reference" : "embedded"} ` +
        `${typeName(object)}${create != null ? ` of ${typeName(inner)}` : ""}`,
    );

    if (inner instanceof Note && inner.id?.href === state.replyId) {
      if (state.replyAnnounced != null) return;
      state.replyAnnounced = {
        event: "reply-announced",
        id: inner.id.href,
        via,
        announce: announce.id?.href ?? null,
        create: create?.id?.href ?? null,
        actor: create?.actorId?.href ?? null,
        inReplyTo: inner.replyTargetId?.href ?? null,
        signatureVerified: true,
        keyId: signatureKeyId(),
      };
      maybeFinishReply();
      return;
    }
    if (!(inner instanceof Page)) {
      log("ignoring an Announce of", typeName(inner), inner?.id?.href ?? "");
      return;
    }
    const pageId = inner.id?.href ?? null;
    const key = `${via} ${pageId}`;
    if (state.announced.has(key)) return;
    state.announced.add(key);
    emit({
      event: "announced",
      page: pageId,
      name: inner.name?.toString() ?? null,
      via,
      // Fedify ran this listener, so it verified the request's signature and
      // that the signing key belongs to the Announce's actor, the group.
      signatureVerified: true,
      keyId: signatureKeyId(),
      announce: announce.id?.href ?? null,
      create: create?.id?.href ?? null,
      actor: create?.actorId?.href ?? null,
      attributedTo: inner.attributionId?.href ?? null,
      audience: inner.audienceId?.href ?? null,
      content: inner.content?.toString() ?? null,
    });
    if (state.page == null) {
      state.page = inner;
      // Reply outside this inbox request, so that Hearth's delivery of the
      // Announce is answered at once.
      const replyCtx = federation.createContext(new URL(origin), undefined);
      setImmediate(() => void sendReply(replyCtx, inner));
    } else {
      maybeFinishReply();
    }
  }

  federation
    .setInboxListeners("/users/{identifier}/inbox", "/inbox")
    .on(Accept, async (ctx, accept) => {
      log("inbox: Accept", accept.id?.href, "from", accept.actorId?.href);
      if (state.followId == null || state.groupId == null) {
        log("Accept arrived before our Follow was sent; ignoring");
        return;
      }
      const object = await accept.getObject(ctx);
      const objectId = accept.objectId?.href ?? object?.id?.href;
      if (objectId !== state.followId) {
        log("Accept is not of our Follow:", objectId, "!=", state.followId);
        return;
      }
      if (object instanceof Follow && object.actorId?.href !== ctx.getActorUri("peer").href) {
        log("the accepted Follow's actor is not us:", object.actorId?.href);
        return;
      }
      if (accept.actorId?.href !== state.groupId) {
        log("Accept's actor is not the group:", accept.actorId?.href);
        return;
      }
      state.accepted ??= {
        event: "accepted",
        accept: accept.id?.href ?? null,
        actor: accept.actorId.href,
        object: objectId,
        // Fedify ran this listener, so it verified the request's signature
        // (skipSignatureVerification is off) and that the signing key
        // belongs to the Accept's actor.
        signatureVerified: true,
        keyId: signatureKeyId(),
      };
      maybeAccepted();
    })
    .on(Announce, async (ctx, announce) => {
      log("inbox: Announce", announce.id?.href, "from", announce.actorId?.href);
      if (!reply) {
        log("not in the reply scenario; ignoring");
        return;
      }
      if (!state.acceptedReported) {
        log("Announce arrived before our membership was accepted; ignoring");
        return;
      }
      await onAnnounce(ctx, announce);
    })
    .onError((_ctx, error) => {
      log("inbox error:", error?.stack ?? String(error));
    });

  server = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
      }
      const request = new Request(new URL(req.url ?? "/", origin), {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      });
      log(`<- ${req.method} ${req.url}` +
        (headers.has("signature") ? ` signature: ${headers.get("signature")}` : ""));
      let json = null;
      if (req.method === "POST") {
        log("   body:", body.toString("utf8"));
        try {
          json = JSON.parse(body.toString("utf8"));
        } catch {
          // Fedify answers malformed bodies itself.
        }
      }
      const response = await currentRequest.run(
        { headers, json },
        () => federation.fetch(request, { contextData: undefined }),
      );
      log(`-> ${response.status} for ${req.method} ${req.url}`);
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      log("server error:", error?.stack ?? String(error));
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("peer error");
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  emit({ event: "listening", actor: `${origin}/users/peer`, scenario: args.scenario });

  const ctx = federation.createContext(new URL(origin), undefined);

  const group = await ctx.lookupObject(`@${groupName}@${groupHost}`);
  if (group == null || !isActor(group)) {
    fail(`could not resolve ${groupHandle} to an actor`, {
      type: group?.constructor?.name ?? null,
    });
    return;
  }
  state.group = group;
  state.groupId = group.id?.href ?? null;
  emit({
    event: "resolved",
    id: state.groupId,
    type: typeName(group),
    inbox: group.inboxId?.href ?? null,
    followers: group.followersId?.href ?? null,
  });

  const follow = new Follow({
    id: new URL(`${origin}/follows/${crypto.randomUUID()}`),
    actor: ctx.getActorUri("peer"),
    object: group.id,
    to: group.id,
  });
  state.followId = follow.id.href;
  try {
    await ctx.sendActivity({ identifier: "peer" }, group, follow);
  } catch (error) {
    fail(`sending the Follow failed: ${error?.message ?? error}`);
    return;
  }
  emit({ event: "sent-follow", id: state.followId });
  state.sent = true;
  maybeAccepted();
}
