/**
 * The settings of the anti-entropy functions (`lambda/anti-entropy`, deployed by
 * `lib/constructs/verify-deployed.ts`): the region's replicator settings, as every function carries them,
 * plus what the function is for (`role`: hash where the data lives, compare the hashes, repair), the
 * table as the comparison sees it, the run buckets of every region and verify's re-read rule. Pure.
 */
import * as z from 'zod/mini';
import { SETTINGS_ENV, settingsSchema } from './settings';

const text = z.string('must be a non-empty string').check(z.minLength(1, 'must be a non-empty string'));
const integer = (min: number) =>
  z.number('must be a number').check(z.int('must be an integer'), z.gte(min, `must be at least ${min}`));
const texts = z.readonly(z.array(text, 'must be an array'));

export const ANTI_ENTROPY_ROLES = ['hash', 'compare', 'repair'] as const;
export type AntiEntropyRole = (typeof ANTI_ENTROPY_ROLES)[number];

const antiEntropyPart = z.object(
  {
    role: z.enum(ANTI_ENTROPY_ROLES, "must be 'hash', 'compare' or 'repair'"),
    /** The table as the comparison sees it: every region, the one-way source first. */
    table: z.object({
      name: text,
      mode: z.enum(['one-way', 'multi-active'], "must be 'one-way' or 'multi-active'"),
      regions: texts,
      keyNames: texts,
      excludeAttributes: texts,
    }),
    /** The run bucket of each region the function reads or writes (hash and repair: its own). */
    buckets: z.readonly(z.record(text, text)),
    /** Reads of a key that differs, and the pause between them (verify's re-read rule). */
    recheckRounds: integer(1),
    recheckIntervalSeconds: integer(0),
    /** Repair: every region's replicator settings (a write is applied with those of the winning region). */
    replicators: z.optional(z.readonly(z.record(text, settingsSchema))),
  },
  'must be an object',
);

export const antiEntropySettingsSchema = z.intersection(
  settingsSchema,
  z.object({ antiEntropy: antiEntropyPart }),
);

export type AntiEntropySettings = Readonly<z.infer<typeof antiEntropySettingsSchema>>;

/** Every problem with `value` as anti-entropy settings, each naming the field; [] if none. */
export function antiEntropySettingsProblems(value: unknown): string[] {
  const result = z.safeParse(antiEntropySettingsSchema, value);
  const problems = result.success
    ? []
    : result.error.issues.map(
        (issue) => `${issue.path.map(String).join('.') || 'settings'} ${issue.message}`,
      );
  const s = value as Partial<AntiEntropySettings> | undefined;
  const part = s?.antiEntropy;
  if (!problems.length && part) {
    if (!part.buckets[s!.region!]) problems.push(`antiEntropy.buckets has no bucket for ${s!.region}`);
    if (part.role === 'compare')
      for (const r of part.table.regions)
        if (!part.buckets[r])
          problems.push(`antiEntropy.buckets has no bucket for ${r}, whose hashes it reads`);
    if (part.role === 'repair')
      for (const r of part.table.regions)
        if (!part.replicators?.[r]) problems.push(`antiEntropy.replicators has no settings for ${r}`);
  }
  return problems;
}

export function encodeAntiEntropySettings(settings: AntiEntropySettings): string {
  return JSON.stringify(settings);
}

export function decodeAntiEntropySettings(raw: string | undefined): AntiEntropySettings {
  if (!raw) throw new Error(`${SETTINGS_ENV} is not set`);
  const parsed = JSON.parse(raw) as unknown;
  const problems = antiEntropySettingsProblems(parsed);
  if (problems.length) throw new Error(`${SETTINGS_ENV} is invalid: ${problems.join('; ')}`);
  return z.parse(antiEntropySettingsSchema, parsed);
}
