// SPDX-License-Identifier: AGPL-3.0-or-later
//
// A minimal ActivityPub peer built on Fedify (an implementation this project
// did not write), used by Hearth's `fedify_peer` integration test.
//
//   node peer.mjs --port <port> --group acct:peers@localhost:<hearthPort>
//                 [--timeout-ms 60000] [--expect accept]
//
// It serves one actor, `peer`, at http://localhost:<port>/users/peer (bound
// to 127.0.0.1), resolves the group with Fedify's own WebFinger and JSON-LD
// code, sends it a signed Follow and waits for an Accept of that Follow,
// which Fedify verifies (HTTP signature, key owner == activity actor) before
// our inbox listener runs.
//
// stdout carries one JSON object per line, the events the test asserts on:
//   {"event":"listening",...} {"event":"resolved",...}
//   {"event":"sent-follow",...} {"event":"accepted",...} | {"event":"error",...}
// Diagnostics (including Fedify's own debug log) go to stderr.

import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import process from "node:process";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";

import {
  Accept,
  Endpoints,
  Follow,
  MemoryKvStore,
  Person,
  createFederation,
  generateCryptoKeyPair,
  isActor,
} from "@fedify/fedify";
import { configure, getStreamSink } from "@logtape/logtape";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    group: { type: "string" },
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
} else {
  await main(groupMatch[1], groupMatch[2]);
}

async function main(groupName, groupHost) {
  const timer = setTimeout(
    () => fail(`timed out after ${timeoutMs} ms waiting for the ${args.expect}`),
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
  const state = { followId: null, groupId: null, sent: false, accepted: null };
  // The Signature header of the inbox request being handled, for the report.
  const currentRequest = new AsyncLocalStorage();
  // Hearth may deliver the Accept before our POST of the Follow has been
  // answered; report in order: sent-follow, then accepted.
  const maybeFinish = () => {
    if (state.sent && state.accepted != null) {
      clearTimeout(timer);
      finish(0, state.accepted);
    }
  };

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
      const signature = currentRequest.getStore()?.get("signature") ?? null;
      state.accepted = {
        event: "accepted",
        accept: accept.id?.href ?? null,
        actor: accept.actorId.href,
        object: objectId,
        // Fedify ran this listener, so it verified the request's signature
        // (skipSignatureVerification is off) and that the signing key
        // belongs to the Accept's actor.
        signatureVerified: true,
        keyId: signature?.match(/keyId="([^"]*)"/)?.[1] ?? null,
      };
      maybeFinish();
    })
    .onError((_ctx, error) => {
      log("inbox error:", error?.stack ?? String(error));
    });

  const server = http.createServer(async (req, res) => {
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
      if (req.method === "POST") log("   body:", body.toString("utf8"));
      const response = await currentRequest.run(
        headers,
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
  emit({ event: "listening", actor: `${origin}/users/peer` });

  const ctx = federation.createContext(new URL(origin), undefined);

  const group = await ctx.lookupObject(`@${groupName}@${groupHost}`);
  if (group == null || !isActor(group)) {
    fail(`could not resolve ${groupHandle} to an actor`, {
      type: group?.constructor?.name ?? null,
    });
    return;
  }
  state.groupId = group.id?.href ?? null;
  emit({
    event: "resolved",
    id: state.groupId,
    type: group.constructor.typeId?.href?.replace(/^.*#/, "") ?? null,
    inbox: group.inboxId?.href ?? null,
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
  maybeFinish();
}
