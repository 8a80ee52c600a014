/**
 * Clinical vocabulary that must survive name detection: words a capitalised-token or dictionary
 * rule would otherwise take for a name (eponyms, brand and generic drug names, scores, units,
 * abbreviations). Written for this project; lower-case; matched case-insensitively, possessive
 * `'s` removed.
 *
 * Eponyms that are also common surnames (Wilson, Graves, Bell, ...) are in
 * {@link SURNAME_EPONYMS}: they survive only before a clinical head word ("Wilson disease",
 * "Bell's palsy", "Wells score"), so "Dr Wilson" and "Wilson called" still lose the name.
 */

const words = (text: string): string[] => text.trim().split(/\s+/);

/** Eponyms rarely used as a person's name in a note; always kept unless a title precedes them. */
export const EPONYMS: readonly string[] = words(`
  parkinson parkinsonism parkinsonian crohn hodgkin alzheimer apgar glasgow asperger babinski
  barre guillain brugada bishop's cheyne chvostek dupuytren ehlers danlos epstein gleason
  hallpike hashimoto heimlich kawasaki kernig klinefelter korotkoff korsakoff kussmaul lachman
  mallampati marfan mcburney mcmurray meniere mobitz nissen osgood papanicolaou pap peyronie
  phalen prinzmetal raynaud reye romberg roux sjogren sjögren schlatter swan ganz takotsubo tinel
  tourette trendelenburg trousseau valsalva wenckebach wernicke whipple ziehl neelsen killip
  ranson rockall blatchford alvarado centor framingham karnofsky ecog nyha meld braden
  kaposi lyme zika ebola hallpike epley finkelstein hoffmann brudzinski gram foley doppler
  holter
`);

/** Eponyms that are also common surnames: clinical only before one of {@link EPONYM_HEADS}. */
export const SURNAME_EPONYMS: readonly string[] = words(`
  wilson graves bell down baker turner murphy duke clark morse norton wells barrett paget addison
  cushing huntington bishop child pugh stevens johnson wolff white gilbert horner homan homans
  lewy tanner allen adams stokes
`);

/** Words after an eponym that make it clinical ("disease", "sign", "score"). */
export const EPONYM_HEADS: readonly string[] = words(`
  disease syndrome sign signs score scale criteria test maneuver manoeuvre palsy esophagus
  oesophagus cyst lymphoma sarcoma reflex phenomenon classification stage staging triad
  contracture node nodes disorder dementia tremor block type ulcer fracture hernia procedure
  operation repair fundoplication catheter body bodies pugh calve perthes turcotte levine
  squamous
`);

/** Generic and brand drug names. */
export const DRUGS: readonly string[] = words(`
  lisinopril metformin atorvastatin lipitor amlodipine norvasc metoprolol lopressor toprol losartan
  cozaar furosemide lasix warfarin coumadin heparin enoxaparin lovenox apixaban eliquis rivaroxaban
  xarelto dabigatran pradaxa insulin glargine lantus humalog novolog aspirin clopidogrel plavix
  ticagrelor brilinta prednisone albuterol ventolin proair ipratropium atrovent omeprazole
  prilosec pantoprazole protonix ondansetron zofran acetaminophen tylenol ibuprofen motrin advil
  naproxen aleve morphine hydromorphone dilaudid oxycodone percocet tramadol gabapentin neurontin
  pregabalin lyrica sertraline zoloft fluoxetine prozac citalopram celexa escitalopram lexapro
  trazodone quetiapine seroquel olanzapine zyprexa risperidone risperdal haloperidol haldol
  lorazepam ativan alprazolam xanax diazepam valium clonazepam klonopin levothyroxine synthroid
  vancomycin ceftriaxone rocephin piperacillin tazobactam zosyn azithromycin zithromax amoxicillin
  augmentin doxycycline ciprofloxacin cipro levofloxacin levaquin metronidazole flagyl
  nitrofurantoin macrobid cephalexin keflex clindamycin bactrim spironolactone aldactone
  hydrochlorothiazide hctz carvedilol coreg digoxin amiodarone diltiazem cardizem nitroglycerin
  simvastatin zocor rosuvastatin crestor januvia sitagliptin jardiance empagliflozin dapagliflozin
  farxiga semaglutide ozempic wegovy liraglutide victoza trulicity dulaglutide potassium magnesium
  kayexalate keppra levetiracetam phenytoin dilantin depakote valproate lithium benadryl
  diphenhydramine narcan naloxone toradol ketorolac decadron dexamethasone medrol solu
  methylprednisolone ambien zolpidem flomax tamsulosin proscar finasteride zestril entresto
  sacubitril valsartan alteplase tpa tenecteplase plaquenil hydroxychloroquine humira adalimumab
  remicade infliximab methotrexate tacrolimus prograf cellcept mycophenolate eliquis suboxone
  buprenorphine methadone nicotine chantix varenicline epinephrine epipen norepinephrine levophed
  vasopressin dopamine dobutamine propofol diprivan fentanyl versed midazolam precedex
  dexmedetomidine ketamine rocuronium succinylcholine lidocaine xylocaine bupivacaine marcaine
  tdap covid pfizer moderna zyrtec claritin flonase singulair montelukast advair symbicort spiriva
  tiotropium pulmicort budesonide xopenex duoneb miralax colace senna senokot dulcolax bisacodyl
  lactulose reglan metoclopramide phenergan promethazine compazine famotidine pepcid ranitidine
  zantac sucralfate carafate imodium loperamide
`);

/** Abbreviations, units and short tokens of notes (upper-case forms are common). */
export const ABBREVIATIONS: readonly string[] = words(`
  ed er icu picu nicu pacu or ob gyn obgyn ent gi gu cbc bmp cmp lft lfts mri ct cta pet ekg ecg
  eeg emg bp hr rr spo2 sao2 o2 gcs nihss chf copd ckd esrd dm dm2 t2dm iddm htn hld cad afib
  nstemi stemi mi cva tia dvt pe uti gerd bph npo prn bid tid qid qd qhs hs po iv im sc sq subq
  mg mcg ml mmhg bpm kg lb lbs cm mm hgb hct wbc plt inr ptt pt ot slp rn np pa md do dds mpt
  md's cna lpn lvn crna aprn fnp dnp pharmd phd msw lcsw a1c hba1c tsh bnp ntprobnp egfr gfr bun
  cr na cl co2 ast alt alk ldh ck ckmb cpk crp esr abg vbg ua ucx bcx cxr kub tte tee echo
  nsr sob doe pnd cp n/v abd ext heent perrla rrr ctab nad aox3 a&o avss wnl nkda nka hx pmh psh
  fhx shx ros hpi cc dx ddx tx rx sx fx f/u fu hh pcp ptsd adhd ocd mdd gad hiv aids hcv hbv
  hpv mrsa vre cdiff covid19 sars cov ards aki sbo uri lrti cap hcap vap sirs dka hhs hypo ivf
  ns lr d5w d5 tpn ppn ngt peg picc cvc ett bipap cpap hfnc nc nrb rsi lma cabg pci ptca tavr
  savr icd pacemaker ppm aicd lvad lvef ef rvsp ivc svc lad lcx rca pda pfo asd vsd lbbb rbbb
  svt vt vf pea rosc acls bls pals atls fast efast dnr dni polst molst hcp poa adl adls iadl
  snf ltc ltach ltac alf irf hha hospice lvh pvd pad aaa cabgx4 bmi bsa mets fev1 fvc dlco
  tlc ptt/inr hgba1c ldl hdl vldl trig tg psa cea afp ca125 ca19 hcg bhcg qd qod qam qpm ac pc
  stat asap prbc ffp cryo plts ivpb pca epidural spinal gen anes mac cath lab hgb/hct
  hb fe ca mg zn cu pb us usa am pm est utc id dob ssn mrn spo sao fio pao paco etco dl mmol meq iu mosm acct
  pt's pts hrs mins wks yrs mo mos y/o yo
`);

/** Body systems, places of care and other capitalised clinical words not in a general dictionary. */
export const CLINICAL_WORDS: readonly string[] = words(`
  dyspnea dyspnoea edema oedema hepatosplenomegaly splenomegaly hepatomegaly lymphadenopathy
  tachypnea bradypnea orthopnea hypokalemia hyperkalemia hyponatremia hypernatremia
  hypoglycemia hyperglycemia hypotension hypertension hypoxia hypoxemia hypercapnia
  diaphoresis rhonchi rales crackles wheezes wheezing ecchymosis petechiae cyanosis clubbing
  sepsis bacteremia pyelonephritis cholecystitis appendicitis diverticulitis pancreatitis
  cellulitis osteomyelitis endocarditis pericarditis myocarditis meningitis encephalopathy
  neuropathy retinopathy nephropathy cardiomyopathy atelectasis effusion pneumothorax
  hemothorax thrombosis embolism stenosis regurgitation murmur gallop syncope presyncope
  vertigo dysphagia odynophagia hematemesis hematochezia melena hematuria dysuria
  oliguria anuria polyuria nocturia incontinence constipation diarrhea diarrhoea emesis
  nausea anorexia cachexia malaise myalgia arthralgia paresthesia hemiparesis hemiplegia
  aphasia dysarthria ataxia nystagmus diplopia photophobia tinnitus otalgia rhinorrhea
  epistaxis hemoptysis sputum troponin creatinine lactate procalcitonin bilirubin albumin
  lipase amylase ferritin transferrin reticulocyte eosinophil neutrophil lymphocyte
  ultrasound echocardiogram angiogram colonoscopy endoscopy bronchoscopy laparoscopy
  thoracentesis paracentesis lumbar intubation extubation tracheostomy gastrostomy
  cardiology neurology nephrology oncology hematology pulmonology gastroenterology
  endocrinology rheumatology urology dermatology ophthalmology psychiatry orthopedics
  radiology pathology pediatrics geriatrics hospitalist intensivist telemetry
  medicare medicaid ceruloplasmin methimazole dimer haptoglobin fibrinogen d-dimer
`);

/** Months and weekdays: kept as words (a date with a day is removed by the date patterns). */
export const CALENDAR_WORDS: readonly string[] = words(`
  january february march september october november december
  jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
  saturday sunday mon tue tues wed thu thur thurs fri sat sun
`);

/** Suffixes of drug stems and clinical terms: a word with one is clinical ("-pril", "-itis"). */
export const CLINICAL_SUFFIXES: readonly string[] = words(`
  itis ectomy otomy ostomy plasty scopy graphy aemia algia pathy megaly penia cytosis
  pnea rrhea rrhage pril olol sartan statin ximab zumab tinib azole cillin mycin floxacin
  cycline dipine zepam zolam tidine prazole gliptin gliflozin glutide parin xaban thiazide
  barbital caine curium profen oxacin triptan setron
`);
