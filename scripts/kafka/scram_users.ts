/**
 * The test bed's SCRAM users (`admin`, `alice`) after a node restart.
 *
 * Kafka 4.3.1 can come back from a restart without SCRAM credentials that it served before:
 * after other users' SCRAM-SHA-256 credentials were deleted (admin_security_test does), the
 * replayed metadata image lacked `alice`'s and `admin`'s SCRAM-SHA-256 (seen on a fresh clone
 * in CI; `describeUserScramCredentials` over PLAIN lists only SCRAM-SHA-512 then). The
 * launcher promises these users, so it puts back whatever a restarted node no longer has,
 * over PLAIN (whose users live in the JAAS config, not in the metadata log).
 *
 * @module
 */

import { Admin } from "../../mod.ts";
import { ADMIN_USER, TEST_USER } from "./config.ts";

const MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const;

/**
 * Adds back the test users' SCRAM credentials that the cluster at `saslPlaintext` (a bootstrap
 * list of its SASL_PLAINTEXT listeners) does not have; returns what it added.
 *
 * @example
 * ```ts ignore
 * import { ensureScramUsers } from "./scram_users.ts";
 * console.log(await ensureScramUsers("127.0.0.1:9093")); // [] when nothing was missing
 * ```
 */
export async function ensureScramUsers(saslPlaintext: string): Promise<string[]> {
  await using admin = new Admin({
    brokers: saslPlaintext.split(","),
    sasl: { mechanism: "plain", username: ADMIN_USER.username, password: ADMIN_USER.password },
    retry: { deadlineMs: 30_000 },
  });
  const users = [ADMIN_USER, TEST_USER];
  const have = await admin.describeUserScramCredentials(users.map((u) => u.username))
    .catch(() => []);
  const added: string[] = [];
  for (const u of users) {
    const known = have.find((d) => d.user === u.username)?.credentials.map((c) => c.mechanism);
    for (const mechanism of MECHANISMS) {
      if (known?.includes(mechanism)) continue;
      // 4096 iterations: what `kafka-storage format --add-scram` gives them.
      await admin.upsertScramCredential({
        user: u.username,
        mechanism,
        password: u.password,
        iterations: 4096,
      });
      added.push(`${u.username}/${mechanism}`);
    }
  }
  return added;
}
