"""The families that ship with archcalc, registered through the public plugin hooks.

These modules are plugins like any third-party one: each implements ``archcalc_*`` hooks
with ``archcalc.hookimpl``. The out-of-tree example plugins live beside them in
``plugins/archcalc-*/`` as separately installable packages.
"""
