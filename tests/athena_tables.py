"""The Glue tables over a CloudTrail bucket that Athena queries, as Glue describes them:
the AWS documentation's, an organization trail's, and one partitioned by hand."""

from __future__ import annotations

# The columns of the AWS documentation's CloudTrail table (types left out).
COLUMNS = ["eventversion", "useridentity", "eventtime", "eventsource", "eventname", "awsregion",
           "sourceipaddress", "useragent", "errorcode", "errormessage", "requestparameters",
           "responseelements", "additionaleventdata", "requestid", "eventid", "readonly",
           "resources", "eventtype", "apiversion", "recipientaccountid", "serviceeventdetails",
           "sharedeventid", "vpcendpointid", "vpcendpointaccountid", "eventcategory", "addendum",
           "sessioncredentialfromconsole", "edgedevicedetails", "tlsdetails"]
DESCRIPTOR = {"Columns": [{"Name": c, "Type": "string"} for c in COLUMNS]}

# The tables the AWS documentation and organization setups create.
DOC_TABLE = {  # partition projection on one date key (the AWS documentation's table)
    "StorageDescriptor": DESCRIPTOR,
    "PartitionKeys": [{"Name": "timestamp", "Type": "string"}],
    "Parameters": {"projection.enabled": "true", "projection.timestamp.type": "date",
                   "projection.timestamp.format": "yyyy/MM/dd",
                   "projection.timestamp.range": "2020/01/01,NOW",
                   "projection.timestamp.interval": "1",
                   "projection.timestamp.interval.unit": "DAYS"},
}
ORG_TABLE = {  # an organization trail: account and region levels too
    "StorageDescriptor": DESCRIPTOR,
    "PartitionKeys": [{"Name": "account", "Type": "string"},
                      {"Name": "region", "Type": "string"},
                      {"Name": "timestamp", "Type": "string"}],
    "Parameters": {**DOC_TABLE["Parameters"], "projection.account.type": "enum",
                   "projection.region.type": "enum"},
}
MANUAL_TABLE = {  # ALTER TABLE ADD PARTITION (region, year, month, day)
    "StorageDescriptor": DESCRIPTOR,
    "PartitionKeys": [{"Name": n, "Type": "string"} for n in ("region", "year", "month", "day")],
}
