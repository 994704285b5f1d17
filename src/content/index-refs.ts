import type { Descriptor, ImageIndex } from "../oci/types.js";
import { ContentError } from "./error.js";

/** The annotation that names an entry of an image layout's `index.json` (image-spec `annotations.md`). */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

// annotations.md: ref ::= component ("/" component)*; component ::= alphanum (separator alphanum)*;
// separator ::= [-._:@+] | "--"
const REF_NAME =
  /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

/** A named entry of `index.json`. */
export interface NamedDescriptor {
  name: string;
  descriptor: Descriptor;
}

/** Throws `ContentError` `INVALID_REF_NAME` unless `name` follows the ref.name grammar of annotations.md. */
export function checkRefName(name: string): string {
  if (!REF_NAME.test(name)) {
    throw new ContentError(
      "INVALID_REF_NAME",
      `${JSON.stringify(name)} is not a valid image layout reference name (letters and digits separated by - . _ : @ + -- or /)`,
      { detail: { name } },
    );
  }
  return name;
}

/** The ref name of a descriptor, if it has one. */
export function refNameOf(descriptor: Descriptor): string | undefined {
  return descriptor.annotations?.[REF_NAME_ANNOTATION];
}

/** Every named entry, in index order. */
export function namedEntries(index: ImageIndex): NamedDescriptor[] {
  const out: NamedDescriptor[] = [];
  for (const descriptor of index.manifests) {
    const name = refNameOf(descriptor);
    if (name !== undefined) out.push({ name, descriptor });
  }
  return out;
}

/** The descriptor named `name` (the last one, if a foreign tool left duplicates). */
export function resolveRef(index: ImageIndex, name: string): Descriptor | undefined {
  let found: Descriptor | undefined;
  for (const d of index.manifests) if (refNameOf(d) === name) found = d;
  return found;
}

/**
 * A new index where `name` points at `descriptor`: the first entry with that name is replaced in
 * place (keeping the order other tools see), further duplicates dropped, or the entry appended.
 */
export function withRef(index: ImageIndex, name: string, descriptor: Descriptor): ImageIndex {
  checkRefName(name);
  const entry: Descriptor = {
    ...descriptor,
    annotations: { ...descriptor.annotations, [REF_NAME_ANNOTATION]: name },
  };
  const manifests: Descriptor[] = [];
  let placed = false;
  for (const d of index.manifests) {
    if (refNameOf(d) !== name) manifests.push(d);
    else if (!placed) {
      manifests.push(entry);
      placed = true;
    }
  }
  if (!placed) manifests.push(entry);
  return { ...index, manifests };
}

/** A new index without any entry named `name`, and whether one was there. */
export function withoutRef(index: ImageIndex, name: string): { index: ImageIndex; removed: boolean } {
  const manifests = index.manifests.filter((d) => refNameOf(d) !== name);
  return { index: { ...index, manifests }, removed: manifests.length !== index.manifests.length };
}
