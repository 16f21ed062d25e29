"""Use cases behind every adapter (the Telegram bot, the Rasa actions, the console's web channel):
plain functions that take a session and the domain, change tickets through ``tickets.services`` and
return frozen views (``tickets.usecases.views``). No Telegram objects, no NLU, no HTTP: callers pass
plain values and ``Classification``\\s, and own the transaction (``Database.run``).

- ``people``: residents created on first contact, staff accounts, who is speaking (``Speaker``);
- ``residents``: a resident's own tickets, status questions, adding information, ratings;
- ``reports``: filing what the resident dialogue gathered, and what they add after filing;
- ``groups``: grid groups — binding, filing what members say, the digest;
- ``forwards``: grid members' forwards filed for the original senders, and their corrections;
- ``staff``: the staff card and its buttons (through ``tickets.commands``), /stats;
- ``web``: the console's web channel (试一试);
- ``views``: the frozen results.
"""
