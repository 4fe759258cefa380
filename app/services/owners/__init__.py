"""The owners' channel (业主服务): who an owner is from their phone, their sign-in, their tickets, their data.

An owner is not a staff user: they have no row in ``users``, no role and no project assignment. They are
a mobile number, and the units registered to it (``units.owner_phone`` or a ``unit_residents`` row).
"""
