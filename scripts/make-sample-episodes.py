#!/usr/bin/env python3
"""Writes the quickstart's sample agent memory: a few hundred episodes of five agents, built from
hand-written facts, deterministic (seeded), with names, dates, amounts and ids so that both
lexical and dense retrieval have something to find. Run from the repository root:
    python3 scripts/make-sample-episodes.py > Sources/episodic/Resources/sample_episodes.jsonl
"""
import json, random

rng = random.Random(20261125)
start_day = 1

def stamp(day, hour, minute):
    return "2026-%02d-%02dT%02d:%02d:00Z" % (9 + (day - 1) // 30, (day - 1) % 30 + 1, hour, minute)

agents = {
    "personal-assistant": {
        "facts": [
            ("Alice prefers vegetarian restaurants and dislikes loud places; she books tables for four on Friday evenings.", {"person": "Alice"}),
            ("Bob's dog Biscuit is allergic to chicken; the vet recommended salmon-based food.", {"person": "Bob"}),
            ("The user's mother's birthday is on November 14th; last year the user sent orchids.", {"topic": "family"}),
            ("Dentist appointment moved from Tuesday 10am to Thursday 3pm at Smile Dental on 5th Avenue.", {"topic": "health"}),
            ("The user runs 5 km every Monday, Wednesday and Saturday morning before work.", {"topic": "habits"}),
            ("The user's passport expires in March 2027; renewal takes about six weeks.", {"topic": "documents"}),
            ("Grocery list for the weekend: oat milk, spinach, feta, lemons and sourdough bread.", {"topic": "shopping"}),
            ("The user is learning Portuguese on Duolingo, currently on a 112-day streak.", {"topic": "learning"}),
            ("Reminder: renew the car insurance with Allianz before October 3rd; quote was 640 EUR per year.", {"topic": "finance"}),
            ("The user's favorite coffee is a flat white with oat milk from Blue Door Cafe.", {"topic": "preferences"}),
            ("Sister Clara is visiting from Lyon on the 22nd and staying for three nights.", {"person": "Clara"}),
            ("The user asked to stop sending notifications after 9pm on weekdays.", {"topic": "preferences"}),
        ],
        "events": ["Booked a table for four at Green Leaf for Friday at 7:30pm.", "Ordered orchids to be delivered to Mom on the 14th.",
                   "Rescheduled the yoga class from Sunday to Saturday 9am.", "Paid the electricity bill of 87.40 EUR.",
                   "Added 'call the plumber about the kitchen sink' to the to-do list.", "Set a reminder to water the plants every three days.",
                   "Found a recipe for vegetarian lasagna for Alice's dinner party.", "Renewed the library books due on the 30th."],
    },
    "devops-agent": {
        "facts": [
            ("Deployment of version 2.4.1 failed because the database migration timed out after 300 seconds; rolled back to 2.4.0.", {"service": "api"}),
            ("The cache key ignored the locale parameter, so German users saw English product descriptions on the checkout page.", {"service": "web"}),
            ("Postgres primary on db-prod-1 reached 85% disk usage; archived WAL files older than 7 days.", {"service": "db"}),
            ("On-call rotation: Priya this week, Marcus next week; escalation goes to the platform lead Sven.", {"team": "platform"}),
            ("TLS certificate for api.example.com expires on December 1st; renewal is automated with certbot.", {"service": "api"}),
            ("Incident INC-4471: payment webhooks returned 503 for 14 minutes because the queue consumer crashed.", {"incident": "INC-4471"}),
            ("The staging cluster runs Kubernetes 1.29; production is still on 1.28 until the upgrade window on the 18th.", {"service": "k8s"}),
            ("Redis memory limit raised from 4 GB to 8 GB after evictions during the Black Friday load test.", {"service": "cache"}),
            ("Feature flag new-search is enabled for 10% of users; error rate unchanged at 0.2%.", {"service": "search"}),
            ("Backups are restored every Sunday into the restore-test environment; last restore took 42 minutes.", {"service": "db"}),
        ],
        "events": ["Scaled the worker pool from 6 to 10 pods during the traffic spike.", "Rotated the API keys for the analytics vendor.",
                   "Merged the fix for the flaky integration test in the billing service.", "Opened ticket OPS-2210 for the slow DNS lookups.",
                   "Silenced the disk alert on build-runner-3 for 2 hours during cleanup.", "Upgraded nginx ingress to 1.10.1 in staging.",
                   "Re-ran the failed nightly ETL job; it completed in 38 minutes.", "Added a dashboard panel for p99 checkout latency."],
    },
    "support-bot": {
        "facts": [
            ("Refund policy: orders can be returned within 30 days of delivery; shipping costs are refunded only for defective items.", {"topic": "policy"}),
            ("Customer Hannah Weber (order 88213) received a blue jacket instead of the green one she ordered.", {"customer": "Hannah Weber"}),
            ("Express shipping to Canada takes 3 to 5 business days and costs 24.90 USD.", {"topic": "shipping"}),
            ("Customer Omar Haddad reported that the mobile app crashes when he opens the order history on Android 14.", {"customer": "Omar Haddad"}),
            ("Gift cards never expire and can be combined with discount codes, except during clearance sales.", {"topic": "policy"}),
            ("The warehouse in Rotterdam is closed on December 25th and 26th; orders ship again on the 27th.", {"topic": "shipping"}),
            ("Customer Li Wei asked for an invoice with VAT number DE811907980 for order 90117.", {"customer": "Li Wei"}),
            ("Discount code AUTUMN15 gives 15% off all outerwear until October 31st.", {"topic": "promotions"}),
            ("Loyalty members get free returns and early access to the spring collection.", {"topic": "loyalty"}),
        ],
        "events": ["Issued a refund of 59.00 EUR for a damaged lamp.", "Sent a prepaid return label for order 87310.",
                   "Escalated a billing dispute to the finance team.", "Explained how to reset a forgotten password.",
                   "Updated the shipping address for an order not yet dispatched.", "Closed a ticket after the customer confirmed delivery.",
                   "Apologized for a delayed package stuck in customs.", "Logged feature request: dark mode in the mobile app."],
    },
    "travel-planner": {
        "facts": [
            ("Flight TP1355 from Berlin to Lisbon departs Friday at 9:10am; seat 14A, window, as the user prefers.", {"trip": "Lisbon"}),
            ("Hotel Alfama Patio in Lisbon booked for three nights, breakfast included, check-in after 3pm.", {"trip": "Lisbon"}),
            ("The user prefers aisle seats on flights longer than four hours and window seats on short ones.", {"topic": "preferences"}),
            ("Train from Lisbon to Porto on Monday at 11:09, first class, coach 2 seat 45.", {"trip": "Porto"}),
            ("The Tokyo conference runs April 8 to 10 at the Tokyo International Forum; early-bird ends January 15.", {"trip": "Tokyo"}),
            ("The user's frequent flyer number with Lufthansa Miles & More ends in 4471.", {"topic": "loyalty"}),
            ("Travel insurance covers trip cancellation up to 5,000 EUR and medical costs abroad.", {"topic": "insurance"}),
            ("Rental car in Madeira: compact automatic from Funchal airport, pick-up Saturday 2pm.", {"trip": "Madeira"}),
            ("The user does not eat pork; request vegetarian meals on long-haul flights.", {"topic": "preferences"}),
        ],
        "events": ["Checked in online for the Lisbon flight and saved the boarding pass.", "Booked a table at a fado restaurant in Alfama for Saturday.",
                   "Compared hotel prices in Shinjuku and Marunouchi for the Tokyo trip.", "Exchanged 300 EUR into Japanese yen.",
                   "Added the Porto train tickets to the calendar.", "Requested a late checkout in Lisbon until 1pm.",
                   "Found a walking tour of Sintra for Sunday morning.", "Renewed the international driving permit."],
    },
    "research-assistant": {
        "facts": [
            ("The literature review covers retrieval-augmented generation papers from 2020 to 2024, 47 papers so far.", {"project": "RAG review"}),
            ("BM25 remains a strong baseline on BEIR; dense retrievers lose on entity-heavy queries.", {"project": "RAG review"}),
            ("The grant proposal to the NSF is due on February 2nd; the budget is capped at 450,000 USD.", {"project": "grant"}),
            ("Dr. Chen suggested evaluating on LoCoMo and LongMemEval for long-term conversational memory.", {"person": "Dr. Chen"}),
            ("Experiment 12: reranking the top 50 with a cross-encoder improved nDCG@10 from 0.41 to 0.47.", {"project": "experiments"}),
            ("The lab's GPU quota is 800 A100 hours per month; 620 hours were used in October.", {"topic": "compute"}),
            ("Reciprocal rank fusion with k=60 beat score averaging on three of four datasets.", {"project": "experiments"}),
            ("The camera-ready deadline for the ACL workshop paper is May 20th, 8 pages plus references.", {"project": "paper"}),
            ("Maria is annotating 500 query-document pairs for the relevance study, 320 done.", {"person": "Maria"}),
        ],
        "events": ["Summarized the ColBERTv2 paper in five bullet points.", "Downloaded the MS MARCO passage collection.",
                   "Fixed a bug in the evaluation script that dropped unjudged documents.", "Scheduled a reading group on sparse retrieval for Thursday.",
                   "Drafted the related-work section of the workshop paper.", "Ran the ablation without the lexical component.",
                   "Sent Dr. Chen the updated results table.", "Created a BibTeX entry for the Contriever paper."],
    },
}

lines = []
for agent, spec in agents.items():
    day = 1
    episodes = []
    for text, meta in spec["facts"]:
        episodes.append((text, dict(meta, kind="fact")))
    # Events recur with small variations (dates, counts), as an agent's log does.
    for i in range(48):
        base = rng.choice(spec["events"])
        when = rng.choice(["on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "over the weekend", "this morning", "late in the evening"])
        note = rng.choice(["", " The user confirmed.", " Follow-up needed next week.", " Took about ten minutes.", " No issues."])
        episodes.append(("%s %s.%s" % (base.rstrip("."), when, note), {"kind": "event", "seq": i}))
    rng.shuffle(episodes)
    for n, (text, meta) in enumerate(episodes):
        day += rng.choice([0, 0, 1, 1, 2])
        entry = {"id": "%s-%03d" % (agent, n), "agent_id": agent, "content": text, "metadata": meta,
                 "created_at": stamp(min(day, 90), rng.randrange(7, 22), rng.randrange(0, 60))}
        lines.append(json.dumps(entry, ensure_ascii=False, sort_keys=True))
print("\n".join(lines))
