import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

// Done once, here: every contract file imports `z` from this module so `.openapi()` is available.
extendZodWithOpenApi(z);

export { z };
