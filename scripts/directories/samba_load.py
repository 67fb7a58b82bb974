#!/usr/bin/python3
"""Load directory data straight into a Samba AD DC's sam.ldb.

Run with /usr/bin/python3: Samba's Python bindings are only installed for
the system interpreter. Writing through SamDB in batches per transaction is
several times faster than ldapadd or samba-tool (see LAB.md), and works
whether or not the DC is running (ldb locks the database files).

Usage: samba_load.py SMB_CONF OPS_JSONL [BATCH]

Each line of OPS_JSONL is one operation:
  {"op": "add", "dn": ..., "attrs": {name: [str]}, "binary": {name: [base64]},
   "relax": bool, "ensure": bool}
                             relax: allow setting objectGUID; ensure: skip if it exists
  {"op": "modify-add", "dn": ..., "attrs": {name: [str]}}
  {"op": "newuser", "name": ..., "password": ..., "ou": ..., "disabled": bool}
  {"op": "dns-a", "zone": "corp.test", "host": "dc1", "ip": "127.0.0.1"}
  {"op": "spn", "account": "DC1$", "spn": "ldap/dc1.corp.test"}
                             added unless some account already holds it
  {"op": "exportkeytab", "principal": "svc@CORP.TEST", "path": ...}
                             as `samba-tool domain exportkeytab PATH --principal=...`
  {"op": "setpassword", "name": ..., "password": ...}
  {"op": "deleteuser", "name": ...}
Prints one JSON line with counts, or exits 2 with the failing operation.
"""
import base64
import json
import os
import sys
import time

import ldb
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB


def element(values, flag, name):
    return ldb.MessageElement(values, flag, name)


def apply(samdb, lp, op):
    kind = op["op"]
    if kind == "add":
        msg = ldb.Message(ldb.Dn(samdb, op["dn"]))
        for name, values in op.get("attrs", {}).items():
            msg[name] = element([v.encode("utf-8") for v in values], ldb.FLAG_MOD_ADD, name)
        for name, values in op.get("binary", {}).items():
            msg[name] = element([base64.b64decode(v) for v in values], ldb.FLAG_MOD_ADD, name)
        try:
            samdb.add(msg, controls=["relax:0"] if op.get("relax") else [])
        except ldb.LdbError as error:
            # "ensure": containers a second dataset shares with the first.
            if not (op.get("ensure") and error.args[0] == ldb.ERR_ENTRY_ALREADY_EXISTS):
                raise
    elif kind == "modify-add":
        msg = ldb.Message(ldb.Dn(samdb, op["dn"]))
        for name, values in op.get("attrs", {}).items():
            msg[name] = element([v.encode("utf-8") for v in values], ldb.FLAG_MOD_ADD, name)
        samdb.modify(msg)
    elif kind == "newuser":
        samdb.newuser(op["name"], op["password"], userou=op.get("ou"))
        if op.get("disabled"):
            samdb.disable_account("(sAMAccountName=%s)" % ldb.binary_encode(op["name"]))
    elif kind == "dns-a":
        # Provision ignores --host-ip=127.0.0.1, so the SRV target has no A
        # record. Write the dnsNode as provision itself does (sambadns.py).
        from samba.ndr import ndr_pack
        from samba.provision.sambadns import ARecord

        dn = "DC=%s,DC=%s,CN=MicrosoftDNS,DC=DomainDnsZones,%s" % (op["host"], op["zone"], samdb.domain_dn())
        msg = ldb.Message(ldb.Dn(samdb, dn))
        msg["objectClass"] = element([b"top", b"dnsNode"], ldb.FLAG_MOD_ADD, "objectClass")
        msg["dnsRecord"] = element([ndr_pack(ARecord(op["ip"]))], ldb.FLAG_MOD_ADD, "dnsRecord")
        samdb.add(msg)
    elif kind == "spn":
        # A DC provisioned here may lack ldap/<its name> (LAB.md); an SPN
        # must be unique in the domain, so look for it anywhere first.
        held = samdb.search(base=samdb.domain_dn(), scope=ldb.SCOPE_SUBTREE,
                            expression="(servicePrincipalName=%s)" % ldb.binary_encode(op["spn"]),
                            attrs=["sAMAccountName"])
        if len(held) > 0:
            return
        found = samdb.search(base=samdb.domain_dn(), scope=ldb.SCOPE_SUBTREE,
                             expression="(sAMAccountName=%s)" % ldb.binary_encode(op["account"]),
                             attrs=["dn"])
        if len(found) != 1:
            raise ValueError("no account %s for SPN %s" % (op["account"], op["spn"]))
        msg = ldb.Message(found[0].dn)
        msg["servicePrincipalName"] = element([op["spn"].encode("utf-8")], ldb.FLAG_MOD_ADD,
                                              "servicePrincipalName")
        samdb.modify(msg)
    elif kind == "exportkeytab":
        from samba import enable_net_export_keytab
        from samba.net import Net

        enable_net_export_keytab()
        # The export adds to an existing file: start from none.
        if os.path.exists(op["path"]):
            os.remove(op["path"])
        Net(None, lp).export_keytab(keytab=op["path"], principal=op["principal"])
    elif kind == "setpassword":
        samdb.setpassword("(sAMAccountName=%s)" % ldb.binary_encode(op["name"]), op["password"])
    elif kind == "deleteuser":
        samdb.deleteuser(op["name"])
    else:
        raise ValueError("unknown op %r" % kind)


# Operations that open transactions (or, for the keytab export, a second
# connection to sam.ldb) of their own: the batch's must be closed first.
OWN_TRANSACTION = {"newuser", "exportkeytab", "setpassword", "deleteuser"}


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
    conf, ops_path = sys.argv[1], sys.argv[2]
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    started = time.time()
    lp = LoadParm()
    lp.load(conf)
    samdb = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
    opened = time.time()
    count = 0
    in_batch = 0
    samdb.transaction_start()
    with open(ops_path, encoding="utf-8") as ops:
        for line in ops:
            if not line.strip():
                continue
            op = json.loads(line)
            own = op["op"] in OWN_TRANSACTION
            if own:
                samdb.transaction_commit()
            try:
                apply(samdb, lp, op)
            except Exception as error:  # report which entry failed, then stop
                if not own:
                    samdb.transaction_cancel()
                print(json.dumps({"error": str(error), "op": op.get("op"), "dn": op.get("dn", op.get("name"))}),
                      file=sys.stderr)
                sys.exit(2)
            if own:
                samdb.transaction_start()
            count += 1
            in_batch += 1
            if in_batch >= batch:
                samdb.transaction_commit()
                samdb.transaction_start()
                in_batch = 0
    samdb.transaction_commit()
    print(json.dumps({"operations": count, "openSeconds": round(opened - started, 3),
                      "seconds": round(time.time() - started, 3)}))


if __name__ == "__main__":
    main()
