"""The structured detectors, one module per kind of violation, all reading one
:class:`~feige.moderation.detectors.context.DetectionContext`:

* ``terms``: lexicon terms of every category (abuse, political, porn, ads, scam scripts …);
* ``contact``: IM ids and cues, phone numbers, a physical store offered to visit;
* ``payment``: bank cards, payment accounts, payment links in QR codes;
* ``links``: e-mail addresses, URLs and bare domains, 口令 tokens (the wide view);
* ``scams``: off-platform payment (fraud) and review threats (extortion);
* ``spam``: the same advert repeated by one sender.

Each ``find_*`` function appends :class:`~feige.moderation.detectors.context.Finding` items;
the engine decides which detectors run and what the findings mean.
"""
