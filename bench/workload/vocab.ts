/**
 * Word lists for the synthetic job-search workload. Postings are built from families of related
 * roles so that queries and candidate items overlap the way retrieval output does (a "data
 * engineer" query mostly scores data postings), and so that descriptions reuse phrases the way
 * real postings do. Plain ASCII keeps token-level truncation free of split characters.
 */

export interface JobFamily {
  readonly key: string;
  /** Titles as posted (seniority is added separately). */
  readonly titles: readonly string[];
  /** How job seekers name the role in a search box. */
  readonly searchTerms: readonly string[];
  readonly skills: readonly string[];
  /** Verb phrases for "what you will do" bullets. */
  readonly duties: readonly string[];
  /** Phrases that complete "experience ..." in requirement bullets. */
  readonly experience: readonly string[];
  readonly industries: readonly string[];
}

export const FAMILIES: readonly JobFamily[] = [
  {
    key: 'software',
    titles: ['Software Engineer', 'Backend Engineer', 'Frontend Developer', 'Full Stack Developer', 'Mobile Engineer', 'Site Reliability Engineer', 'Platform Engineer', 'DevOps Engineer'],
    searchTerms: ['software engineer', 'backend developer', 'frontend developer', 'full stack developer', 'java developer', 'python developer', 'react developer', 'devops engineer', 'sre'],
    skills: ['Java', 'Python', 'Go', 'TypeScript', 'React', 'Kubernetes', 'AWS', 'PostgreSQL', 'Kafka', 'Terraform', 'gRPC', 'Docker', 'CI/CD pipelines', 'distributed systems'],
    duties: ['design, build and operate services that handle millions of requests a day', 'write clean, well-tested code and review the code of your peers', 'own features from the first design document to production monitoring', 'improve the reliability, latency and cost of our platform', 'partner with product managers and designers to shape the roadmap', 'participate in an on-call rotation and lead incident reviews', 'mentor engineers and raise the bar for engineering quality', 'break down ambiguous problems into small, shippable increments', 'build internal tooling that makes every engineer more productive', 'migrate legacy components to a modern, observable architecture', 'define service level objectives and the alerts that protect them', 'profile and optimize hot paths in latency-sensitive code'],
    experience: ['building and operating production web services', 'with cloud infrastructure and infrastructure as code', 'designing APIs that other teams depend on', 'with relational and NoSQL databases at scale', 'writing automated tests and maintaining CI pipelines', 'debugging performance problems in distributed systems'],
    industries: ['software', 'fintech', 'e-commerce', 'cloud infrastructure', 'developer tools'],
  },
  {
    key: 'data',
    titles: ['Data Engineer', 'Data Scientist', 'Machine Learning Engineer', 'Analytics Engineer', 'Data Analyst', 'Business Intelligence Developer'],
    searchTerms: ['data engineer', 'data scientist', 'machine learning engineer', 'data analyst', 'analytics engineer', 'bi developer', 'ml engineer', 'sql analyst'],
    skills: ['SQL', 'Python', 'Spark', 'Airflow', 'dbt', 'Snowflake', 'BigQuery', 'Tableau', 'Looker', 'PyTorch', 'scikit-learn', 'statistics', 'A/B testing', 'data modeling'],
    duties: ['build batch and streaming pipelines that feed our analytics and machine learning', 'design data models that make metrics consistent across the company', 'train, evaluate and deploy models that improve the customer experience', 'run experiments and translate results into clear recommendations', 'own the quality, freshness and documentation of core datasets', 'build dashboards that leadership uses to make weekly decisions', 'partner with engineers to instrument products and capture the right events', 'automate reporting that is done by hand today', 'investigate anomalies in key metrics and explain what changed', 'scale our feature store and model serving infrastructure'],
    experience: ['writing complex SQL against large datasets', 'building data pipelines with orchestration tools', 'applying statistics to product and business questions', 'training and deploying machine learning models', 'with cloud data warehouses and lakehouse architectures', 'communicating insights to non-technical stakeholders'],
    industries: ['data and analytics', 'healthcare technology', 'retail', 'media', 'insurance'],
  },
  {
    key: 'nursing',
    titles: ['Registered Nurse', 'ICU Nurse', 'Nurse Practitioner', 'Licensed Practical Nurse', 'Charge Nurse', 'Travel Nurse', 'Home Health Nurse'],
    searchTerms: ['registered nurse', 'rn', 'icu nurse', 'nurse practitioner', 'lpn', 'travel nurse', 'night shift nurse', 'home health nurse'],
    skills: ['patient assessment', 'medication administration', 'electronic health records', 'BLS', 'ACLS', 'wound care', 'care planning', 'patient education', 'infection control', 'IV therapy'],
    duties: ['assess, plan and deliver safe, evidence-based care to a diverse patient population', 'administer medications and treatments and document them accurately', 'educate patients and families about diagnoses, procedures and discharge plans', 'collaborate with physicians, therapists and social workers on care plans', 'monitor patients and respond quickly to changes in condition', 'supervise and support licensed practical nurses and nursing assistants', 'maintain a clean, safe environment that follows infection control policies', 'take part in quality improvement and patient safety initiatives', 'coordinate admissions, transfers and discharges with the care team'],
    experience: ['in acute care or a hospital setting', 'with electronic health record systems', 'caring for patients with complex medical needs', 'in critical care, emergency or telemetry units', 'precepting new graduate nurses'],
    industries: ['hospital', 'health system', 'home health', 'long-term care', 'outpatient clinic'],
  },
  {
    key: 'sales',
    titles: ['Account Executive', 'Sales Development Representative', 'Account Manager', 'Sales Manager', 'Business Development Representative', 'Customer Success Manager'],
    searchTerms: ['account executive', 'sales representative', 'sdr', 'account manager', 'sales manager', 'business development', 'customer success manager', 'inside sales'],
    skills: ['Salesforce', 'HubSpot', 'pipeline management', 'negotiation', 'cold outreach', 'consultative selling', 'forecasting', 'territory planning', 'contract renewals', 'product demos'],
    duties: ['prospect, qualify and close new business in your territory', 'build a healthy pipeline through outbound calls, emails and events', 'run discovery calls and tailored product demonstrations', 'negotiate contracts and manage deals through a multi-step process', 'grow revenue within existing accounts through upsell and cross-sell', 'keep the CRM accurate and forecast your quarter with confidence', 'partner with marketing on campaigns that reach the right buyers', 'represent the voice of the customer to product and leadership'],
    experience: ['in business-to-business sales with a track record of exceeding quota', 'selling software or services to mid-market and enterprise customers', 'managing a full sales cycle from prospecting to close', 'using a CRM to manage pipeline and forecasts'],
    industries: ['software', 'telecommunications', 'manufacturing', 'professional services', 'advertising'],
  },
  {
    key: 'marketing',
    titles: ['Marketing Manager', 'Content Marketing Specialist', 'Digital Marketing Specialist', 'Product Marketing Manager', 'SEO Specialist', 'Social Media Coordinator', 'Brand Manager'],
    searchTerms: ['marketing manager', 'digital marketing', 'content writer', 'seo specialist', 'social media manager', 'product marketing', 'brand manager', 'marketing coordinator'],
    skills: ['SEO', 'Google Analytics', 'paid social', 'email marketing', 'copywriting', 'marketing automation', 'campaign management', 'market research', 'content strategy', 'budget management'],
    duties: ['plan and launch campaigns across email, paid media and social channels', 'write and edit content that explains our products in plain language', 'own the editorial calendar and keep launches on schedule', 'analyze campaign performance and shift budget toward what works', 'develop positioning and messaging for new products', 'manage agencies, freelancers and marketing tools', 'grow organic traffic through search optimization and content', 'work with sales to create materials that move deals forward'],
    experience: ['in digital marketing with measurable results', 'writing for blogs, newsletters and landing pages', 'with marketing automation platforms', 'managing paid campaigns and budgets'],
    industries: ['consumer goods', 'software', 'travel', 'education', 'media'],
  },
  {
    key: 'finance',
    titles: ['Accountant', 'Senior Accountant', 'Financial Analyst', 'Accounts Payable Specialist', 'Controller', 'Payroll Specialist', 'Tax Associate'],
    searchTerms: ['accountant', 'financial analyst', 'accounts payable', 'staff accountant', 'controller', 'payroll specialist', 'tax associate', 'bookkeeper'],
    skills: ['GAAP', 'Excel', 'month-end close', 'reconciliations', 'NetSuite', 'financial modeling', 'budgeting', 'variance analysis', 'audit support', 'payroll processing'],
    duties: ['prepare journal entries, accruals and account reconciliations', 'support the month-end and year-end close process', 'build financial models that inform planning and investment decisions', 'analyze variances against budget and explain the drivers', 'process invoices and payments accurately and on time', 'support internal and external audits with clear documentation', 'improve controls and automate manual accounting processes', 'prepare reports for leadership and the board'],
    experience: ['in accounting or finance, ideally in public accounting or a growing company', 'with ERP systems and advanced Excel', 'preparing financial statements under GAAP', 'in budgeting, forecasting and financial analysis'],
    industries: ['financial services', 'real estate', 'manufacturing', 'nonprofit', 'healthcare'],
  },
  {
    key: 'logistics',
    titles: ['Warehouse Associate', 'Forklift Operator', 'Logistics Coordinator', 'Supply Chain Analyst', 'Delivery Driver', 'Operations Manager', 'Inventory Specialist'],
    searchTerms: ['warehouse associate', 'forklift operator', 'delivery driver', 'logistics coordinator', 'supply chain analyst', 'operations manager', 'warehouse jobs', 'cdl driver'],
    skills: ['forklift certification', 'inventory management', 'WMS software', 'shipping and receiving', 'safety procedures', 'route planning', 'vendor management', 'lean practices', 'demand planning', 'CDL Class A'],
    duties: ['receive, store and ship products accurately and safely', 'operate forklifts and other material handling equipment', 'plan routes and coordinate deliveries with carriers and customers', 'track inventory levels and investigate discrepancies', 'keep the work area clean and follow all safety procedures', 'analyze supply chain data to reduce cost and lead time', 'lead shift teams and keep daily operations on target', 'work with vendors to resolve delays and quality issues'],
    experience: ['in a warehouse, distribution center or logistics role', 'operating material handling equipment safely', 'with warehouse management or transportation systems', 'leading teams in a fast-paced operation'],
    industries: ['logistics', 'retail distribution', 'food and beverage', 'manufacturing', 'e-commerce fulfillment'],
  },
  {
    key: 'support',
    titles: ['Customer Service Representative', 'Technical Support Specialist', 'Call Center Agent', 'Help Desk Analyst', 'Customer Support Lead', 'IT Support Technician'],
    searchTerms: ['customer service', 'customer service representative', 'technical support', 'help desk', 'call center', 'it support', 'remote customer service', 'support specialist'],
    skills: ['Zendesk', 'ticketing systems', 'troubleshooting', 'active listening', 'Windows and macOS', 'Active Directory', 'de-escalation', 'typing speed', 'knowledge base writing', 'Office 365'],
    duties: ['answer customer questions by phone, chat and email with empathy and accuracy', 'troubleshoot hardware, software and account issues and document the fix', 'escalate complex cases and follow them through to resolution', 'meet service level targets for response time and customer satisfaction', 'write and improve help center articles', 'set up laptops, accounts and access for new employees', 'spot recurring problems and share them with product teams', 'train new team members on tools and processes'],
    experience: ['in a customer-facing support role', 'troubleshooting computers, networks and common software', 'with ticketing and help desk tools', 'handling a high volume of contacts while staying calm'],
    industries: ['telecommunications', 'software', 'banking', 'utilities', 'retail'],
  },
  {
    key: 'design',
    titles: ['Product Designer', 'UX Designer', 'UI Designer', 'Graphic Designer', 'UX Researcher', 'Visual Designer'],
    searchTerms: ['product designer', 'ux designer', 'ui designer', 'graphic designer', 'ux researcher', 'visual designer', 'figma designer'],
    skills: ['Figma', 'user research', 'prototyping', 'design systems', 'interaction design', 'usability testing', 'Adobe Creative Suite', 'accessibility', 'information architecture', 'visual design'],
    duties: ['turn research insights into flows, wireframes and polished interfaces', 'run usability tests and iterate quickly on what you learn', 'contribute to and maintain our design system', 'partner with engineers to ship designs with care for detail', 'create visual assets for campaigns, product launches and events', 'advocate for accessibility and inclusive design', 'present design decisions and the reasoning behind them to stakeholders'],
    experience: ['designing digital products with a strong portfolio', 'with Figma and modern prototyping tools', 'conducting user research and usability studies', 'working closely with engineering teams'],
    industries: ['software', 'media', 'consumer apps', 'agency', 'fintech'],
  },
  {
    key: 'education',
    titles: ['Elementary School Teacher', 'High School Math Teacher', 'Special Education Teacher', 'Teaching Assistant', 'Instructional Designer', 'Tutor'],
    searchTerms: ['teacher', 'math teacher', 'special education teacher', 'teaching assistant', 'tutor', 'instructional designer', 'substitute teacher'],
    skills: ['lesson planning', 'classroom management', 'differentiated instruction', 'IEP development', 'curriculum design', 'learning management systems', 'student assessment', 'parent communication'],
    duties: ['plan and deliver engaging lessons aligned with state standards', 'differentiate instruction to meet the needs of every learner', 'assess student progress and adjust teaching accordingly', 'communicate regularly with families about progress and goals', 'develop and implement individualized education programs', 'design online courses and learning materials', 'build a classroom culture of respect, curiosity and high expectations'],
    experience: ['teaching in a classroom setting', 'working with students with diverse learning needs', 'designing curriculum and assessments', 'with learning management systems'],
    industries: ['public school district', 'charter school', 'education technology', 'university', 'tutoring services'],
  },
  {
    key: 'hospitality',
    titles: ['Line Cook', 'Restaurant Manager', 'Server', 'Barista', 'Front Desk Agent', 'Housekeeper', 'Event Coordinator'],
    searchTerms: ['line cook', 'restaurant manager', 'server', 'barista', 'front desk agent', 'housekeeping', 'hotel jobs', 'event coordinator'],
    skills: ['food safety', 'customer service', 'POS systems', 'inventory control', 'scheduling', 'cash handling', 'menu knowledge', 'event planning'],
    duties: ['prepare dishes to recipe standards during busy services', 'welcome guests and make every visit memorable', 'keep stations clean, stocked and compliant with food safety rules', 'handle payments and reservations accurately', 'train and schedule team members and manage labor costs', 'resolve guest concerns quickly and professionally', 'plan and run events from first inquiry to final invoice'],
    experience: ['in restaurants, hotels or events', 'in a fast-paced, guest-facing role', 'leading a team during busy shifts', 'with point of sale and reservation systems'],
    industries: ['hospitality', 'restaurant group', 'hotel', 'catering', 'coffee'],
  },
  {
    key: 'trades',
    titles: ['Electrician', 'HVAC Technician', 'Maintenance Technician', 'Plumber', 'Welder', 'Construction Project Manager', 'CNC Machinist'],
    searchTerms: ['electrician', 'hvac technician', 'maintenance technician', 'plumber', 'welder', 'construction project manager', 'cnc machinist', 'apprentice electrician'],
    skills: ['blueprint reading', 'electrical troubleshooting', 'OSHA safety', 'preventive maintenance', 'MIG and TIG welding', 'PLC basics', 'hand and power tools', 'project scheduling', 'building codes'],
    duties: ['install, maintain and repair systems according to code', 'diagnose equipment failures and restore service quickly', 'read blueprints and technical drawings to plan work', 'perform preventive maintenance and keep accurate records', 'follow safety procedures and keep job sites clean', 'coordinate subcontractors, schedules and budgets on site', 'set up and operate machines to tight tolerances'],
    experience: ['in a skilled trade with relevant licenses or certifications', 'troubleshooting electrical and mechanical systems', 'working safely on commercial or industrial sites', 'managing construction projects on time and on budget'],
    industries: ['construction', 'facilities management', 'manufacturing', 'energy', 'property management'],
  },
];

export const SENIORITY: ReadonlyArray<readonly [string, number]> = [
  ['', 5],
  ['Senior', 3],
  ['Junior', 1],
  ['Lead', 1],
  ['Staff', 0.5],
  ['Principal', 0.3],
  ['Associate', 0.8],
];

export const COMPANY_STEMS: readonly string[] = [
  'Northwind', 'Bluepeak', 'Cedarline', 'Ironwood', 'Brightline', 'Harborview', 'Summit', 'Redstone', 'Silverlake', 'Oakridge',
  'Clearwater', 'Granite', 'Evergreen', 'Lighthouse', 'Meridian', 'Pinecrest', 'Riverbend', 'Stonebridge', 'Westfield', 'Crescent',
  'Atlas', 'Beacon', 'Copperleaf', 'Driftwood', 'Foxglove', 'Goldcrest', 'Highland', 'Juniper', 'Kestrel', 'Lakeshore',
];

export const COMPANY_SUFFIXES: readonly string[] = [
  'Analytics', 'Health', 'Logistics', 'Labs', 'Systems', 'Foods', 'Partners', 'Group', 'Technologies', 'Financial',
  'Medical Center', 'Software', 'Academy', 'Hospitality', 'Builders', 'Networks', 'Retail', 'Energy', 'Media', 'Services',
];

export const LOCATIONS: readonly string[] = [
  'Austin, TX, United States', 'Seattle, WA, United States', 'New York, NY, United States', 'Chicago, IL, United States',
  'Denver, CO, United States', 'Atlanta, GA, United States', 'Boston, MA, United States', 'San Francisco, CA, United States',
  'Los Angeles, CA, United States', 'Dallas, TX, United States', 'Phoenix, AZ, United States', 'Miami, FL, United States',
  'Minneapolis, MN, United States', 'Portland, OR, United States', 'Raleigh, NC, United States', 'Columbus, OH, United States',
  'Nashville, TN, United States', 'Salt Lake City, UT, United States', 'Toronto, ON, Canada', 'Vancouver, BC, Canada',
  'London, United Kingdom', 'Manchester, United Kingdom', 'Dublin, Ireland', 'Berlin, Germany', 'Munich, Germany',
  'Amsterdam, Netherlands', 'Paris, France', 'Madrid, Spain', 'Stockholm, Sweden', 'Bengaluru, India', 'Singapore',
  'Sydney, Australia',
];

export const EMPLOYMENT_TYPES: ReadonlyArray<readonly [string, number]> = [
  ['Full-time', 70],
  ['Part-time', 10],
  ['Contract', 10],
  ['Temporary', 4],
  ['Internship', 3],
  ['Per diem', 3],
];

export const REMOTE: ReadonlyArray<readonly ['yes' | 'no' | 'hybrid', number]> = [
  ['no', 55],
  ['hybrid', 25],
  ['yes', 20],
];

export const COMPANY_ADJECTIVES: readonly string[] = [
  'fast-growing', 'mission-driven', 'award-winning', 'employee-owned', 'family-owned', 'venture-backed', 'publicly traded',
  'community-focused', 'global', 'regional',
];

export const MISSIONS: readonly string[] = [
  'that helps people and businesses do their best work',
  'on a mission to make essential services simpler and more affordable',
  'that has served our community for more than thirty years',
  'building the tools our customers rely on every single day',
  'that believes great service starts with great people',
  'with teams across North America, Europe and Asia',
  'recognized as one of the best places to work in the region',
  'that puts customers, safety and quality first',
];

export const CONTEXTS: readonly string[] = [
  'as part of a small, collaborative team',
  'with support from experienced colleagues',
  'in a fast-paced environment',
  'while keeping quality and safety front of mind',
  'across several teams and locations',
  'with a high degree of ownership',
  'using modern tools and processes',
  'in close partnership with leadership',
];

export const SOFT_SKILLS: readonly string[] = [
  'written and verbal communication', 'organization and time management', 'problem-solving', 'attention to detail',
  'teamwork and collaboration', 'customer focus', 'adaptability', 'leadership',
];

export const BENEFITS: readonly string[] = [
  'Medical, dental and vision insurance from day one',
  '401(k) with a company match',
  'Paid time off, paid holidays and paid parental leave',
  'Flexible schedules and a hybrid work policy',
  'Annual learning and development budget',
  'Tuition reimbursement and certification support',
  'Employee assistance program and mental health resources',
  'Commuter benefits and on-site parking',
  'Wellness stipend and gym discounts',
  'Employee discounts and referral bonuses',
  'Life and disability insurance',
  'Home office setup allowance for remote employees',
];

export const SECTION_TITLES = {
  about: ['About us', 'Who we are', 'About the company'],
  role: ['About the role', 'The opportunity', 'Position summary', 'Job summary'],
  duties: ['What you will do', 'Responsibilities', 'Key responsibilities', 'Your day to day'],
  requirements: ['What you bring', 'Qualifications', 'Requirements', 'Who you are'],
  niceToHave: ['Nice to have', 'Preferred qualifications', 'Bonus points'],
  benefits: ['What we offer', 'Benefits', 'Perks and benefits'],
  more: ['Working here', 'Our values', 'Growth and development', 'A day in the life', 'How we work', 'Our team'],
} as const;

export const VALUES_SENTENCES: readonly string[] = [
  'We believe that diverse teams make better decisions, and we work hard to build an inclusive workplace where everyone can contribute.',
  'Our people are our greatest strength, so we invest in coaching, mentorship and clear paths for growth.',
  'We keep our commitments to customers and to each other, and we own our mistakes when we fall short.',
  'Every team member is encouraged to share ideas, ask questions and challenge the way things have always been done.',
  'We celebrate wins together, learn from setbacks together and support each other through busy seasons.',
  'We measure success by the outcomes we create for the people we serve, not by hours spent at a desk.',
  'New hires join a structured onboarding program with a dedicated buddy and regular check-ins with their manager.',
  'Our leaders hold regular open forums where anyone can ask about strategy, results and priorities.',
  'We are committed to sustainability and look for ways to reduce the environmental impact of our operations.',
  'Internal mobility is common here, and many of our leaders started in entry-level roles.',
  'We give back to our communities through volunteer days, matching gifts and local partnerships.',
  'Teams plan their work in short cycles, review results honestly and adjust course quickly.',
];

export const BOILERPLATE: readonly string[] = [
  'We are an equal opportunity employer. All qualified applicants will receive consideration for employment without regard to race, color, religion, sex, sexual orientation, gender identity, national origin, disability, veteran status or any other characteristic protected by law.',
  'We will provide reasonable accommodations to qualified individuals with disabilities throughout the application and interview process. Please contact our recruiting team to request an accommodation.',
  'This position may require a background check and drug screening in accordance with applicable law. We consider qualified applicants with arrest and conviction records in a manner consistent with local fair chance ordinances.',
  'The pay range for this role reflects the base salary we reasonably expect to pay. Final compensation depends on skills, experience, location and internal equity, and the total package may include bonuses and equity.',
  'Applicants must be authorized to work in the country where the position is located. We are unable to sponsor visas for this role at this time.',
  'This job description is not intended to be an exhaustive list of duties. Responsibilities may change based on business needs, and employees may be asked to perform other related tasks.',
  'Please submit your application through our careers page. We review every application and aim to respond within two weeks.',
];

/** Query modifiers job seekers type around a role name. */
export const QUERY_PATTERNS: ReadonlyArray<readonly [string, number]> = [
  ['{role}', 4],
  ['{seniority} {role}', 2],
  ['{role} jobs', 1],
  ['{role} in {city}', 2],
  ['{role} near {city}', 1],
  ['remote {role}', 2],
  ['{role} remote', 1],
  ['part time {role}', 1],
  ['entry level {role}', 1],
  ['{role} {skill}', 1],
  ['{skill} {role} jobs', 0.5],
  ['{seniority} {role} {city}', 1],
  ['contract {role}', 0.5],
  ['{role} hybrid {city}', 0.5],
];

export const QUERY_SENIORITY: readonly string[] = ['senior', 'junior', 'lead', 'entry level', 'experienced', 'staff'];
