/**
 * A local fake of CloudWatch Logs Insights (`StartQuery`, `GetQueryResults`,
 * `StopQuery`), for the Insights histogram. moto (the emulator the other AWS
 * tests use) accepts `StartQuery` but ignores `stats` commands: it answers
 * every query with the matching events' `@ptr`s, so a `stats count(*) by
 * bin()` cannot be tested against it.
 *
 * What it follows (the CloudWatch Logs API reference):
 * - the AWS JSON 1.1 protocol: `POST /`, `Content-Type:
 *   application/x-amz-json-1.1`, `X-Amz-Target: Logs_20140328.<Action>`, a
 *   SigV4 `Authorization` header for the `logs` service, errors as
 *   `{"__type", "message"}` with HTTP 400;
 * - `StartQuery`: `queryString` (1 to 10,000 characters), `startTime` and
 *   `endTime` in whole seconds with start not after end, a `logGroupName`
 *   that exists (`ResourceNotFoundException` otherwise); answers `{queryId}`;
 * - `GetQueryResults`: `status` `Scheduled`, then `Running`, then `Complete`
 *   (or `Failed` when told to), `results` as rows of `{field, value}` with
 *   `statistics`; an unknown `queryId` is `ResourceNotFoundException`;
 * - `StopQuery`: `{success: true}` for a query that has not finished.
 *
 * It does not evaluate the query language: a test gives the rows a query
 * answers with (`answer`), and checks the query string it received.
 *
 * @module
 */

import { type FakeBackend, serveFakeBackend } from "@imbi/plugin-sdk/testing";

/** One row of an Insights answer: field name to value. */
export type InsightsRow = Record<string, string>;

/** A received `StartQuery`. */
export interface StartedQuery {
  /** The group it ran over. */
  logGroupName: string;
  /** Seconds since the epoch. */
  startTime: number;
  /** Seconds since the epoch. */
  endTime: number;
  /** The query. */
  queryString: string;
}

/** A running fake. */
export interface FakeInsights extends FakeBackend {
  /** Every `StartQuery` received, in order. */
  queries: StartedQuery[];
  /** Every action called, in order. */
  actions: string[];
}

/** How the fake answers. */
export interface FakeInsightsOptions {
  /** Log groups that exist. */
  groups: string[];
  /** The rows a query answers with. */
  answer: (query: StartedQuery) => InsightsRow[];
  /** `GetQueryResults` calls answered `Scheduled`/`Running` before `Complete` (default 2). */
  pendingPolls?: number;
  /** End every query `Failed` instead. */
  fail?: boolean;
}

function error(type: string, message: string): Response {
  return Response.json({ __type: type, message }, { status: 400, headers: { "x-amzn-errortype": type } });
}

/**
 * Starts the fake on a free loopback port.
 *
 * @param options The groups, the rows to answer, and how many polls stay pending.
 * @returns The running fake; `await using` closes it.
 */
export function startFakeInsights(options: FakeInsightsOptions): FakeInsights {
  const queries: StartedQuery[] = [];
  const actions: string[] = [];
  const polls = new Map<string, { query: StartedQuery; polled: number; stopped: boolean }>();
  const pending = options.pendingPolls ?? 2;
  const backend = serveFakeBackend(async (request) => {
    const target = request.headers.get("x-amz-target") ?? "";
    const auth = request.headers.get("authorization") ?? "";
    if (request.method !== "POST" || request.headers.get("content-type") !== "application/x-amz-json-1.1") {
      return error("SerializationException", "expected POST with application/x-amz-json-1.1");
    }
    if (!/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/logs\/aws4_request,/.test(auth)) {
      return error("MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    const action = target.startsWith("Logs_20140328.") ? target.slice("Logs_20140328.".length) : "";
    actions.push(action);
    const body = await request.json() as Record<string, unknown>;
    switch (action) {
      case "StartQuery": {
        const { logGroupName, startTime, endTime, queryString } = body;
        if (typeof queryString !== "string" || queryString.length < 1 || queryString.length > 10_000) {
          return error("InvalidParameterException", "queryString must be 1 to 10000 characters");
        }
        if (!Number.isInteger(startTime) || !Number.isInteger(endTime) || (startTime as number) > (endTime as number)) {
          return error("InvalidParameterException", "startTime and endTime must be seconds, start not after end");
        }
        if (typeof logGroupName !== "string" || !options.groups.includes(logGroupName)) {
          return error("ResourceNotFoundException", "The specified log group does not exist.");
        }
        const query = { logGroupName, startTime, endTime, queryString } as StartedQuery;
        queries.push(query);
        const queryId = crypto.randomUUID();
        polls.set(queryId, { query, polled: 0, stopped: false });
        return Response.json({ queryId });
      }
      case "GetQueryResults": {
        const poll = polls.get(String(body.queryId));
        if (!poll) return error("ResourceNotFoundException", "The specified query does not exist.");
        poll.polled++;
        if (poll.stopped) return Response.json({ status: "Cancelled", results: [] });
        if (poll.polled <= pending) {
          return Response.json({ status: poll.polled === 1 ? "Scheduled" : "Running", results: [] });
        }
        if (options.fail) return Response.json({ status: "Failed", results: [] });
        const rows = options.answer(poll.query);
        return Response.json({
          status: "Complete",
          results: rows.map((row) => Object.entries(row).map(([field, value]) => ({ field, value }))),
          statistics: { recordsMatched: rows.length, recordsScanned: rows.length, bytesScanned: 0 },
        });
      }
      case "StopQuery": {
        const poll = polls.get(String(body.queryId));
        if (!poll) return error("ResourceNotFoundException", "The specified query does not exist.");
        poll.stopped = true;
        return Response.json({ success: true });
      }
      default:
        return error("UnknownOperationException", `unknown operation ${target}`);
    }
  });
  return { ...backend, queries, actions };
}
