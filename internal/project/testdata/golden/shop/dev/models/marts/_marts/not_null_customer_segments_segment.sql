select "segment"
from "main"."customer_segments"
where "segment" is null