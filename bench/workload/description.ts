import type { Rng } from '../rng.js';
import type { JobFields } from './template.js';
import {
  BENEFITS,
  BOILERPLATE,
  COMPANY_ADJECTIVES,
  CONTEXTS,
  type JobFamily,
  MISSIONS,
  SECTION_TITLES,
  SOFT_SKILLS,
  VALUES_SENTENCES,
} from './vocab.js';

/**
 * Description text generators. Both stop as soon as the text reaches a target length in
 * characters (the corpus turns a token target into characters with a measured ratio and then
 * counts the real tokens), so the length distribution is set by the caller, not by the grammar.
 * Both start with a letter: the prompt template relies on it for exact token joins.
 */

export interface DescriptionInput {
  fields: JobFields;
  family: JobFamily;
  industry: string;
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Accumulates lines until the character target is met. */
class Writer {
  private readonly parts: string[] = [];
  private chars = 0;

  constructor(private readonly target: number) {}

  get done(): boolean {
    return this.chars >= this.target;
  }

  /** Starts a section: a blank line, then its title line. */
  section(title: string): void {
    this.push(this.parts.length === 0 ? title : `\n\n${title}`);
  }

  line(text: string): void {
    this.push(`\n${text}`);
  }

  /** Prose continues on the same line. */
  sentence(text: string, first: boolean): void {
    this.push(first ? `\n${text}` : ` ${text}`);
  }

  private push(s: string): void {
    this.parts.push(s);
    this.chars += s.length;
  }

  text(): string {
    return this.parts.join('');
  }
}

/** Draws without replacement, reshuffling when exhausted, so text repeats as little as possible. */
class Deck<T> {
  private order: T[] = [];

  constructor(
    private readonly items: readonly T[],
    private readonly rng: Rng,
  ) {}

  draw(): T {
    if (this.order.length === 0) this.order = this.rng.sample(this.items, this.items.length);
    return this.order.pop() as T;
  }
}

const article = (word: string): string => (/^[aeiou]/i.test(word) ? 'an' : 'a');

/** A full job posting: sections of prose and bullets, boilerplate included, as posted. */
export function fullDescription(input: DescriptionInput, targetChars: number, rng: Rng): string {
  const { fields, family, industry } = input;
  const w = new Writer(Math.max(1, targetChars));
  const city = fields.location.split(',')[0] as string;
  const duties = new Deck(family.duties, rng);
  const skills = new Deck(family.skills, rng);
  const experience = new Deck(family.experience, rng);
  const contexts = new Deck(CONTEXTS, rng);
  const values = new Deck(VALUES_SENTENCES, rng);
  const benefits = new Deck(BENEFITS, rng);
  const boilerplate = new Deck(BOILERPLATE, rng);

  const prose = (title: string, sentences: Deck<() => string>, count: number): void => {
    w.section(title);
    for (let i = 0; i < count && !w.done; i++) w.sentence(sentences.draw()(), i === 0);
  };
  const bullets = (title: string, make: () => string, count: number): void => {
    w.section(title);
    for (let i = 0; i < count && !w.done; i++) w.line(`- ${make()}`);
  };

  const adjective = rng.pick(COMPANY_ADJECTIVES);
  w.section(rng.pick(SECTION_TITLES.about));
  w.sentence(`${fields.company} is ${article(adjective)} ${adjective} ${industry} company ${rng.pick(MISSIONS)}.`, true);
  for (let i = rng.int(3); i > 0 && !w.done; i--) w.sentence(values.draw(), false);

  const role = new Deck<() => string>(
    [
      () => `We are looking for ${article(fields.title)} ${fields.title} to join our team in ${city}.`,
      () => `As ${article(fields.title)} ${fields.title}, you will ${duties.draw()} ${contexts.draw()}.`,
      () => `This is ${article(fields.employmentType)} ${fields.employmentType.toLowerCase()} position${remoteText(fields.remote)}.`,
      () =>
        `You will report to the ${rng.pick(['team lead', 'department manager', 'director', 'head of the group'])} and work closely with ${rng.pick(['a small team', 'colleagues across the business', 'our customers', 'partners in other offices'])}.`,
    ],
    rng,
  );
  const requirementKinds = new Deck<() => string>(
    [
      () => `${1 + rng.int(8)}+ years of experience ${experience.draw()}.`,
      () => `Working knowledge of ${skills.draw()}, ${skills.draw()} and ${skills.draw()}.`,
      () => `Strong ${rng.pick(SOFT_SKILLS)} skills.`,
      () =>
        rng.pick([
          "A bachelor's degree in a related field, or equivalent practical experience.",
          'A high school diploma or equivalent.',
          'Relevant license or certification in good standing.',
          'Ability to work flexible hours, including occasional evenings or weekends.',
          'Ability to lift up to 50 pounds and stand for long periods.',
        ]),
      () => `Experience ${experience.draw()}.`,
      () => `Comfort with ${skills.draw()} in day-to-day work.`,
    ],
    rng,
  );
  const duty = (): string => `${cap(duties.draw())}${rng.chance(0.4) ? ` ${contexts.draw()}` : ''}.`;
  const niceToHave = (): string => (rng.chance(0.5) ? `Experience with ${skills.draw()}.` : `Familiarity with ${skills.draw()} or ${skills.draw()}.`);

  // The usual order of a posting; if the target is not met, more prose sections follow.
  if (!w.done) prose(rng.pick(SECTION_TITLES.role), role, 1 + rng.int(3));
  if (!w.done) bullets(rng.pick(SECTION_TITLES.duties), duty, 3 + rng.int(7));
  if (!w.done) bullets(rng.pick(SECTION_TITLES.requirements), () => requirementKinds.draw()(), 3 + rng.int(6));
  if (!w.done && rng.chance(0.6)) bullets(rng.pick(SECTION_TITLES.niceToHave), niceToHave, 1 + rng.int(4));
  if (!w.done) bullets(rng.pick(SECTION_TITLES.benefits), () => `${benefits.draw()}.`, 3 + rng.int(6));
  if (!w.done) prose('Additional information', new Deck([() => boilerplate.draw()], rng), 1 + rng.int(3));
  const more = new Deck<() => string>(
    [
      () => values.draw(),
      () => `You will ${duties.draw()} ${contexts.draw()}.`,
      () => `We value experience ${experience.draw()}, and we will help you grow in ${skills.draw()}.`,
      () => boilerplate.draw(),
    ],
    rng,
  );
  while (!w.done) prose(rng.pick(SECTION_TITLES.more), more, 2 + rng.int(4));
  return w.text();
}

/** A summarized posting in the terse key-phrase style a length-penalised summarizer learns. */
export function summarizedDescription(input: DescriptionInput, targetChars: number, rng: Rng): string {
  const { fields, family, industry } = input;
  const city = fields.location.split(',')[0] as string;
  const duties = new Deck(family.duties, rng);
  const skills = new Deck(family.skills, rng);
  const parts: string[] = [];
  let chars = 0;
  const add = (s: string): void => {
    parts.push(s);
    chars += s.length + 1;
  };
  const target = Math.max(1, targetChars);
  const arrangement = fields.remote === 'yes' ? 'remote' : fields.remote === 'hybrid' ? 'hybrid' : 'on-site';
  add(`${fields.title} at ${fields.company}, ${industry}; ${city}, ${arrangement}, ${fields.employmentType.toLowerCase()}.`);
  const clauses = new Deck<() => string>(
    [
      () => `${cap(duties.draw())}.`,
      () => `${cap(duties.draw())}.`,
      () => `Requires ${skills.draw()}, ${skills.draw()}, ${skills.draw()}.`,
      () => `${1 + rng.int(8)}+ yrs experience ${rng.pick(family.experience)}.`,
      () => `Nice: ${skills.draw()}, ${skills.draw()}.`,
      () => `Benefits: ${rng.sample(BENEFITS, 2).map((b) => b.toLowerCase()).join('; ')}.`,
      () => `Strong ${rng.pick(SOFT_SKILLS)}.`,
    ],
    rng,
  );
  while (chars < target) add(clauses.draw()());
  return parts.join(' ');
}

function remoteText(remote: JobFields['remote']): string {
  if (remote === 'yes') return ' and can be done fully remotely';
  if (remote === 'hybrid') return ' with a hybrid schedule of three days in the office';
  return ' based on site';
}
