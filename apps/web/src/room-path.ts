import { roomNameSchema } from '@cubecast/protocol';

/**
 * The room a page is for, from its path: `/r/<room>` (percent-encoded), else the default
 * room (none named). A path that names a room badly says why instead of joining elsewhere.
 */
export function roomFromPath(pathname: string): { room?: string; error?: string } {
  const match = /^\/r\/([^/]*)\/?$/.exec(pathname);
  if (!match) return {};
  let name: string;
  try {
    name = decodeURIComponent(match[1]!);
  } catch {
    return { error: `"${match[1]}" is not a room name: its percent-encoding is broken` };
  }
  if (!roomNameSchema.safeParse(name).success) return { error: `"${name}" is not a room name: use 1 to 64 letters, digits, spaces, dots, dashes or underscores` };
  return { room: name };
}

/** The room an observer page is for: `/observer` (the default room) or `/r/<room>/observer`. */
export function observerRoomFromPath(pathname: string): { room?: string; error?: string } {
  return roomFromPath(pathname.replace(/\/observer\/?$/, ''));
}
