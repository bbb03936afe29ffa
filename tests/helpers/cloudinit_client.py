#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Fetches metadata the way Debian's cloud-init does, with cloud-init's own
code (its Ec2 datasource and its OpenStack metadata reader), so the tests
show what a real image gets from mdredir. Run inside a guest's namespace:

  cloudinit_client.py ec2-aws     the Ec2 datasource on a platform it takes
                                  for AWS (from DMI): IMDSv2, a token first
  cloudinit_client.py ec2         the Ec2 datasource anywhere else (an
                                  OpenStack guest): IMDSv1, no token
  cloudinit_client.py openstack   the OpenStack datasource's reader

Prints "instance-id ID token yes|no" (openstack: "uuid ID") and exits 0,
or prints what failed and exits 1."""

import logging
import sys
import tempfile

from cloudinit import helpers
from cloudinit.sources import DataSourceEc2
from cloudinit.sources.helpers import openstack

URL = "http://169.254.169.254"


def ec2(cloud_name):
    tmp = tempfile.mkdtemp()
    paths = helpers.Paths({"cloud_dir": tmp, "run_dir": tmp})
    ds = DataSourceEc2.DataSourceEc2({}, None, paths)
    # What identify_platform() would have found in DMI.
    ds._cloud_name = cloud_name
    ds.ds_cfg = {"metadata_urls": [URL], "max_wait": 5, "timeout": 2}
    if not ds.wait_for_metadata_service():
        return "no metadata service found"
    crawled = ds.crawl_metadata()
    md = crawled.get("meta-data")
    if not md:
        return "no meta-data crawled"
    token = "yes" if getattr(ds, "_api_token", None) else "no"
    print("instance-id %s token %s" % (md["instance-id"], token))
    return None


def openstack_reader():
    reader = openstack.MetadataReader(URL, timeout=2, retries=0)
    try:
        results = reader.read_v2()
    except Exception as e:  # cloud-init's own: what it would log
        return "%s: %s" % (type(e).__name__, e)
    print("uuid %s" % results["metadata"]["uuid"])
    return None


def main():
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, force=True)
    what = sys.argv[1]
    if what == "ec2-aws":
        err = ec2(DataSourceEc2.CloudNames.AWS)
    elif what == "ec2":
        err = ec2(DataSourceEc2.CloudNames.UNKNOWN)
    else:
        err = openstack_reader()
    if err:
        print(err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
