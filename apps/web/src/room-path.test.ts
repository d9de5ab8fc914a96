import { describe, expect, it } from 'vitest';
import { observerRoomFromPath, roomFromPath } from './room-path.js';

describe('roomFromPath', () => {
  it('reads /r/<room>, percent-decoded, with or without a trailing slash; anything else is the default room', () => {
    expect(roomFromPath('/r/kitchen')).toEqual({ room: 'kitchen' });
    expect(roomFromPath('/r/team%20a/')).toEqual({ room: 'team a' });
    expect(roomFromPath('/')).toEqual({});
    expect(roomFromPath('/observer')).toEqual({});
    expect(roomFromPath('/r/a/b')).toEqual({});
  });

  it('explains a room name it cannot use', () => {
    expect(roomFromPath('/r/')).toEqual({ error: '"" is not a room name: use 1 to 64 letters, digits, spaces, dots, dashes or underscores' });
    expect(roomFromPath('/r/a%2Fb').error).toMatch(/^"a\/b" is not a room name/);
    expect(roomFromPath('/r/%E0%A4%A').error).toBe('"%E0%A4%A" is not a room name: its percent-encoding is broken');
    expect(roomFromPath(`/r/${'x'.repeat(65)}`).error).toMatch(/is not a room name/);
  });

  it("finds an observer page's room: /observer watches the default room, /r/<room>/observer that room", () => {
    expect(observerRoomFromPath('/observer')).toEqual({});
    expect(observerRoomFromPath('/observer/')).toEqual({});
    expect(observerRoomFromPath('/r/lab%201/observer')).toEqual({ room: 'lab 1' });
    expect(observerRoomFromPath('/r/a%2Fb/observer').error).toMatch(/is not a room name/);
  });
});
