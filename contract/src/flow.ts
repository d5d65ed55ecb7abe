/**
 * The app developers' contract, as an app would drive it: sign up by phone (allauth headless,
 * app client), fill in the profile, list polls, vote, retry the vote (replayed), read the
 * results and the receipt, comment, propose.
 *
 * Every call is typed by the generated schemas (src/generated/*.d.ts): a renamed field, a
 * missing response body or a wrong type fails `tsc --noEmit --strict` before anything runs.
 * Every response is also appended to $CONTRACT_LOG (JSON lines) so the test can validate it
 * against the schema with `additionalProperties: false`.
 *
 * Environment: CONTRACT_BASE_URL, CONTRACT_PHONE, CONTRACT_LOG. The SMS code comes on stdin:
 * the flow prints `SMS_CODE? <phone>` and reads one line. Exits 1 with a message on the first
 * broken expectation.
 */
import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import createClient, { type Middleware } from "openapi-fetch";

import type { paths as AllauthPaths } from "./generated/allauth.js";
import type { components, paths as ApiPaths } from "./generated/api.js";

type ErrorBody = components["schemas"]["Error"];

class ContractError extends Error {}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractError(message);
}

function env(name: string): string {
  const value = process.env[name];
  expect(value !== undefined && value !== "", `${name} is not set`);
  return value;
}

const BASE_URL = env("CONTRACT_BASE_URL");
const PHONE = env("CONTRACT_PHONE");
const LOG = env("CONTRACT_LOG");

/** Writes every answer, with the schema's path template, for the test to validate. */
const recorder: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    const text = await response.clone().text();
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const url = new URL(request.url);
    appendFileSync(
      LOG,
      JSON.stringify({
        method: request.method,
        path: url.pathname,
        template: schemaPath,
        status: response.status,
        headers,
        body: text,
      }) + "\n",
    );
    return undefined;
  },
};

let sessionToken: string | undefined;

/** The session token on every request once there is one, as an app keeps it. */
const session: Middleware = {
  onRequest({ request }) {
    if (sessionToken !== undefined) request.headers.set("X-Session-Token", sessionToken);
    return request;
  },
};

const auth = createClient<AllauthPaths>({ baseUrl: BASE_URL });
const api = createClient<ApiPaths>({ baseUrl: BASE_URL, headers: { "Accept-Language": "en" } });
for (const client of [auth, api]) {
  client.use(session);
  client.use(recorder);
}

function describe(response: Response, body: unknown): string {
  return `${response.status} ${JSON.stringify(body)}`;
}

function expectError(
  response: Response,
  error: ErrorBody | undefined,
  status: number,
  code: string,
): void {
  expect(response.status === status, `expected ${status} ${code}, got ${describe(response, error)}`);
  expect(error !== undefined && error.code === code, `expected code ${code}: ${JSON.stringify(error)}`);
  expect(error.detail.length > 0, `the ${code} error has no detail`);
}

async function readCode(phone: string): Promise<string> {
  process.stdout.write(`SMS_CODE? ${phone}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line.trim();
  }
  throw new ContractError("stdin closed before the SMS code arrived");
}

function step(name: string): void {
  process.stdout.write(`STEP ${name}\n`);
}

async function signUp(): Promise<void> {
  step("sign up");
  const client = { client: "app" as const };
  const signup = await auth.POST("/_allauth/{client}/v1/auth/signup", {
    params: { path: client },
    body: { phone: PHONE },
  });
  expect(signup.response.status === 401, `sign-up: ${describe(signup.response, signup.error)}`);
  // openapi-fetch types `error` as any error answer's body: the status says which one it is.
  const pending = signup.error as
    | AllauthPaths["/_allauth/{client}/v1/auth/signup"]["post"]["responses"][401]["content"]["application/json"]
    | undefined;
  expect(pending !== undefined, "sign-up: no body");
  expect(
    pending.data.flows.some((flow) => flow.id === "verify_phone" && flow.is_pending === true),
    `sign-up: no pending verify_phone flow: ${JSON.stringify(pending.data.flows)}`,
  );
  expect(pending.meta.session_token !== undefined, "sign-up: no meta.session_token");
  sessionToken = pending.meta.session_token;

  const code = await readCode(PHONE);
  const verified = await auth.POST("/_allauth/{client}/v1/auth/phone/verify", {
    params: { path: client },
    body: { code },
  });
  expect(verified.data !== undefined, `phone verify: ${describe(verified.response, verified.error)}`);
  expect(verified.response.status === 200, `phone verify: ${verified.response.status}`);
  expect(verified.data.meta.is_authenticated === true, "phone verify: not authenticated");
  expect(verified.data.meta.session_token !== undefined, "phone verify: no session token");
  sessionToken = verified.data.meta.session_token;

  const current = await auth.GET("/_allauth/{client}/v1/auth/session", { params: { path: client } });
  expect(current.data !== undefined, `session: ${describe(current.response, current.error)}`);
  expect(current.data.meta.is_authenticated === true, "session: not authenticated");
}

async function profile(): Promise<void> {
  step("profile");
  const anonymous = sessionToken;
  sessionToken = undefined;
  const refused = await api.GET("/api/v1/me/");
  sessionToken = anonymous;
  expectError(refused.response, refused.error, 401, "authentication_required");

  const me = await api.GET("/api/v1/me/");
  expect(me.data !== undefined, `me: ${describe(me.response, me.error)}`);
  expect(me.data.phone === PHONE, `me: phone ${String(me.data.phone)}, expected ${PHONE}`);
  expect(me.data.verification === "phone", `me: verification ${me.data.verification}`);

  const district = process.env.CONTRACT_DISTRICT ?? "1111053000"; // 종로구 사직동
  const updated = await api.PATCH("/api/v1/me/", {
    body: { district, birth_year: 1987, gender: "female" },
  });
  expect(updated.data !== undefined, `profile: ${describe(updated.response, updated.error)}`);
  expect(updated.data.district?.code === district, `profile: district ${JSON.stringify(updated.data.district)}`);
  expect(updated.data.birth_year === 1987, "profile: birth_year not kept");
  expect(updated.data.gender === "female", "profile: gender not kept");

  const invalid = await api.PATCH("/api/v1/me/", { body: { birth_year: 1800 } });
  expectError(invalid.response, invalid.error, 400, "invalid_input");
  expect(invalid.error?.fields?.birth_year !== undefined, "profile: no message for birth_year");
}

type PollDetail = components["schemas"]["PollDetail"];

async function choosePoll(): Promise<PollDetail> {
  step("list");
  const list = await api.GET("/api/v1/polls/", { params: { query: { status: "open" } } });
  expect(list.data !== undefined, `polls: ${describe(list.response, list.error)}`);
  const open = list.data.results.find((poll) => poll.eligible && !poll.has_voted);
  expect(open !== undefined, `polls: none open for me: ${JSON.stringify(list.data.results)}`);

  const detail = await api.GET("/api/v1/polls/{poll_id}/", {
    params: { path: { poll_id: open.id } },
  });
  expect(detail.data !== undefined, `poll: ${describe(detail.response, detail.error)}`);
  expect(detail.data.eligible, `poll: not eligible (${String(detail.data.ineligible_reason)})`);
  expect(detail.data.options.length >= 2, "poll: fewer than two options");
  return detail.data;
}

async function vote(poll: PollDetail): Promise<number> {
  step("vote");
  const pollId = poll.id;
  const [option] = poll.options;
  expect(option !== undefined, "poll: no option");
  const key = randomUUID();
  const ballot = { options: [option.id] };
  const cast = await api.POST("/api/v1/polls/{poll_id}/ballots/", {
    params: { path: { poll_id: pollId }, header: { "Idempotency-Key": key } },
    body: ballot,
  });
  expect(cast.data !== undefined, `ballot: ${describe(cast.response, cast.error)}`);
  expect(cast.response.status === 201, `ballot: ${cast.response.status}`);
  expect(cast.response.headers.get("Idempotent-Replayed") === null, "ballot: a first answer marked replayed");
  expect(cast.data.poll === poll.id, "ballot: another poll");
  expect(JSON.stringify(cast.data.options) === JSON.stringify([option.id]), "ballot: options differ");
  expect(cast.data.receipt.length > 0, "ballot: no receipt");

  step("replay");
  const replay = await api.POST("/api/v1/polls/{poll_id}/ballots/", {
    params: { path: { poll_id: pollId }, header: { "Idempotency-Key": key } },
    body: ballot,
  });
  expect(replay.data !== undefined, `replay: ${describe(replay.response, replay.error)}`);
  expect(replay.response.status === 201, `replay: ${replay.response.status}`);
  expect(replay.response.headers.get("Idempotent-Replayed") === "true", "replay: header missing");
  expect(JSON.stringify(replay.data) === JSON.stringify(cast.data), "replay: another answer");

  const again = await api.POST("/api/v1/polls/{poll_id}/ballots/", {
    params: { path: { poll_id: pollId }, header: { "Idempotency-Key": randomUUID() } },
    body: ballot,
  });
  expectError(again.response, again.error, 409, "already_voted");

  const after = await api.GET("/api/v1/polls/{poll_id}/", {
    params: { path: { poll_id: pollId } },
  });
  expect(after.data !== undefined, `poll: ${describe(after.response, after.error)}`);
  expect(after.data.has_voted, "poll: has_voted is not true after voting");

  step("results");
  const results = await api.GET("/api/v1/polls/{poll_id}/results/", {
    params: { path: { poll_id: pollId } },
  });
  expect(results.data !== undefined, `results: ${describe(results.response, results.error)}`);
  expect(results.data.poll === poll.id, "results: another poll");
  expect(
    results.data.options.some((entry) => entry.id === option.id),
    `results: option ${option.id} missing: ${JSON.stringify(results.data.options)}`,
  );
  // Fewer ballots than a batch: the totals are withheld, never a number that could identify.
  expect(results.data.withheld === (results.data.total === null), "results: withheld and total disagree");

  step("receipt");
  const receipt = await api.GET("/api/v1/receipts/{code}/", {
    params: { path: { code: cast.data.receipt } },
  });
  expect(receipt.data !== undefined, `receipt: ${describe(receipt.response, receipt.error)}`);
  expect(receipt.data.poll === poll.id, "receipt: another poll");
  expect(
    receipt.data.status === "sealed" || receipt.data.status === "counted",
    `receipt: status ${String(receipt.data.status)}`,
  );
  const unknown = await api.GET("/api/v1/receipts/{code}/", {
    params: { path: { code: "NOPE0-NOPE0-NOPE0" } },
  });
  expectError(unknown.response, unknown.error, 404, "not_found");
  return pollId;
}

async function comment(pollId: number): Promise<void> {
  step("comment");
  const text = "막차 시간이 늘면 좋겠습니다.";
  const posted = await api.POST("/api/v1/polls/{poll_id}/comments/", {
    params: { path: { poll_id: pollId }, header: { "Idempotency-Key": randomUUID() } },
    body: { body: text },
  });
  expect(posted.data !== undefined, `comment: ${describe(posted.response, posted.error)}`);
  expect(posted.response.status === 201, `comment: ${posted.response.status}`);
  expect(posted.data.body === text && posted.data.is_mine, "comment: not mine or another text");
  expect(posted.data.parent === null && posted.data.replies.length === 0, "comment: not top-level");

  const listed = await api.GET("/api/v1/polls/{poll_id}/comments/", {
    params: { path: { poll_id: pollId } },
  });
  expect(listed.data !== undefined, `comments: ${describe(listed.response, listed.error)}`);
  expect(
    listed.data.results.some((entry) => entry.id === posted.data.id),
    "comments: the new comment is not listed",
  );
}

async function propose(): Promise<void> {
  step("proposal");
  const created = await api.POST("/api/v1/proposals/", {
    params: { header: { "Idempotency-Key": randomUUID() } },
    body: {
      title: "지하철 심야 연장 운행",
      description: "금·토 지하철을 새벽 2시까지 운행할까요?",
      options: ["찬성", "반대"],
      district: null,
      duration_days: 14,
    },
  });
  expect(created.data !== undefined, `proposal: ${describe(created.response, created.error)}`);
  expect(created.response.status === 201, `proposal: ${created.response.status}`);
  expect(created.data.status === "open", `proposal: status ${String(created.data.status)}`);
  expect(created.data.is_mine && created.data.support_count === 0, "proposal: not mine, or supported");
  expect(created.data.district === null, "proposal: not for all of Seoul");

  const shown = await api.GET("/api/v1/proposals/{proposal_id}/", {
    params: { path: { proposal_id: created.data.id } },
  });
  expect(shown.data !== undefined, `proposal: ${describe(shown.response, shown.error)}`);
  expect(shown.data.title === created.data.title, "proposal: another title");

  const invalid = await api.POST("/api/v1/proposals/", {
    params: { header: { "Idempotency-Key": randomUUID() } },
    body: { title: "", description: "", options: ["하나"], duration_days: 14 },
  });
  expectError(invalid.response, invalid.error, 400, "invalid_input");
  expect(invalid.error?.fields !== undefined, "proposal: a validation error without fields");
}

async function main(): Promise<void> {
  await signUp();
  await profile();
  const poll = await choosePoll();
  const pollId = await vote(poll);
  await comment(pollId);
  await propose();
  process.stdout.write("FLOW OK\n");
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`FLOW FAILED: ${message}\n`);
    process.exit(1);
  },
);
