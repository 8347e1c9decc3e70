import { Rng } from '../rng.js';
import type { JobFields } from './template.js';
import {
  COMPANY_STEMS,
  COMPANY_SUFFIXES,
  EMPLOYMENT_TYPES,
  FAMILIES,
  type JobFamily,
  LOCATIONS,
  QUERY_PATTERNS,
  QUERY_SENIORITY,
  REMOTE,
  SENIORITY,
} from './vocab.js';

export interface JobMetadata {
  index: number;
  familyIndex: number;
  family: JobFamily;
  industry: string;
  fields: JobFields;
}

/**
 * Metadata of job #index. Each job draws from its own stream, so it does not depend on how many
 * jobs the corpus holds, nor on the description mode (full and summarized corpora share jobs).
 */
export function jobMetadata(seed: number, index: number): JobMetadata {
  const rng = Rng.derive(seed, 'job', index);
  const familyIndex = rng.int(FAMILIES.length);
  const family = FAMILIES[familyIndex] as JobFamily;
  const seniority = rng.weighted(SENIORITY);
  const base = rng.pick(family.titles);
  return {
    index,
    familyIndex,
    family,
    industry: rng.pick(family.industries),
    fields: {
      title: seniority ? `${seniority} ${base}` : base,
      company: `${rng.pick(COMPANY_STEMS)} ${rng.pick(COMPANY_SUFFIXES)}`,
      location: rng.pick(LOCATIONS),
      employmentType: rng.weighted(EMPLOYMENT_TYPES),
      remote: rng.weighted(REMOTE),
    },
  };
}

export interface SearchQuery {
  index: number;
  familyIndex: number;
  text: string;
}

/** A short, natural search query: a role name with the modifiers people type around it. */
export function searchQuery(seed: number, index: number, attempt = 0): SearchQuery {
  const rng = Rng.derive(seed, 'query', index, attempt);
  const familyIndex = rng.int(FAMILIES.length);
  const family = FAMILIES[familyIndex] as JobFamily;
  const city = (rng.pick(LOCATIONS).split(',')[0] as string).trim();
  const text = rng
    .weighted(QUERY_PATTERNS)
    .replace('{role}', rng.pick(family.searchTerms))
    .replace('{seniority}', rng.pick(QUERY_SENIORITY))
    .replace('{city}', rng.chance(0.5) ? city : city.toLowerCase())
    .replace('{skill}', rng.pick(family.skills).toLowerCase());
  return { index, familyIndex, text };
}
