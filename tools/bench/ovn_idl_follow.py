#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The OVN metadata agent's Southbound replica, for tools/ovn-bench.sh.

Usage: ovn_idl_follow.py REMOTE SCHEMA CHASSIS [PB_CHASSIS_UUID]

Follows REMOTE with the library the agent uses (python3-openvswitch's
ovs.db.idl, under ovsdbapp) and the tables it registers
(neutron/agent/ovn/metadata/ovsdb.py, MetadataAgentOvnSbIdl): Chassis,
Encap, Port_Binding, Datapath_Binding and SB_Global, every column, only
Chassis conditioned (name == CHASSIS). With PB_CHASSIS_UUID, Port_Binding
is also conditioned on chassis == it: what the agent would hold if it
asked the server for its own bindings only, as mdredir does.

Prints one line once the replica is whole and then waits for SIGTERM:
  synced PORT_BINDING_ROWS SYNC_MS RSS_BEFORE_KIB
(SYNC_MS from the connection's start; RSS_BEFORE_KIB the process's VmRSS
before connecting, the interpreter and library alone).
"""
import sys
import time

import ovs.db.idl
import ovs.poller


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip().splitlines()[2])
    remote, schema, chassis = sys.argv[1:4]
    helper = ovs.db.idl.SchemaHelper(schema)
    for table in ("Chassis", "Encap", "Port_Binding", "Datapath_Binding",
                  "SB_Global"):
        helper.register_table(table)
    before = rss_kib()
    t0 = time.monotonic()
    idl = ovs.db.idl.Idl(remote, helper)
    idl.tables["Chassis"].condition = [["name", "==", chassis]]
    if len(sys.argv) == 5:
        idl.tables["Port_Binding"].condition = [
            ["chassis", "==", ["uuid", sys.argv[4]]]]
    # The first change_seqno bump is the initial monitor reply, whole.
    while True:
        idl.run()
        if idl.change_seqno:
            break
        poller = ovs.poller.Poller()
        idl.wait(poller)
        poller.block()
    ms = int((time.monotonic() - t0) * 1000)
    print("synced %d %d %d" % (len(idl.tables["Port_Binding"].rows), ms,
                               before), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
