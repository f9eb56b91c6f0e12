import type { Location } from '@gridgate/contract';
import type { ZoneConfig } from '../../southbound/cameras/zones.js';
import type { CameraProfile } from './rules/profile.js';

/** What the detection stage needs to know about one camera (the camera stage's config provides it). */
export interface VisionCamera {
  id: string;
  /** Default grid and place of the camera's zones. */
  gridId: string;
  location: Location;
  zones: ZoneConfig[];
  profile: CameraProfile;
  /** For rules' active hours; default Asia/Shanghai. */
  timezone?: string;
}
