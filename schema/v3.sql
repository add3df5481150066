-- SPDX-License-Identifier: MIT
-- Version 3: what a flows row counts. 'flow': an IP flow (the default, and what rows of
-- partitions older than version 3 are); 'other': the non-IP frames of one EtherType on one
-- interface and direction; 'overflow': packets the kernel's flow map had no room for, on one
-- interface and direction (they are counted, but not attributed to a flow).
ALTER TABLE flows ADD COLUMN kind TEXT;
