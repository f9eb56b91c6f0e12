/** Builds network-server uplink messages the way ChirpStack v4 and The Things Stack v3 publish them. */
export interface LnsUplinkInput {
  devEui: string;
  deviceName: string;
  fPort: number;
  fCnt: number;
  bytes: Uint8Array;
  at: number;
  rssi: number;
  snr: number;
}

export function chirpStackV4Up(appId: string, u: LnsUplinkInput): { topic: string; payload: string } {
  const body = {
    deduplicationId: `${u.devEui}-${u.fCnt}`,
    time: new Date(u.at).toISOString(),
    deviceInfo: { tenantId: 'sim-tenant', tenantName: 'GridGate simulator', applicationId: appId, applicationName: 'gridgate-sim', deviceProfileName: 'sim', deviceName: u.deviceName, devEui: u.devEui },
    devAddr: u.devEui.slice(-8),
    adr: true,
    dr: 5,
    fCnt: u.fCnt,
    fPort: u.fPort,
    confirmed: false,
    data: Buffer.from(u.bytes).toString('base64'),
    rxInfo: [{ gatewayId: '0016c001ff10a235', uplinkId: u.fCnt, rssi: u.rssi, snr: u.snr, context: 'AAAAAA==' }],
    txInfo: { frequency: 486300000, modulation: { lora: { bandwidth: 125000, spreadingFactor: 7, codeRate: 'CR_4_5' } } },
  };
  return { topic: `application/${appId}/device/${u.devEui}/event/up`, payload: JSON.stringify(body) };
}

export function ttnV3Up(appId: string, tenant: string, u: LnsUplinkInput): { topic: string; payload: string } {
  const body = {
    end_device_ids: { device_id: u.deviceName, application_ids: { application_id: appId }, dev_eui: u.devEui.toUpperCase(), dev_addr: u.devEui.slice(-8).toUpperCase() },
    correlation_ids: [`as:up:sim-${u.fCnt}`],
    received_at: new Date(u.at).toISOString(),
    uplink_message: {
      session_key_id: 'AXBSH1Pk6Z0G166fZ0cI9Q==',
      f_port: u.fPort,
      f_cnt: u.fCnt,
      frm_payload: Buffer.from(u.bytes).toString('base64'),
      rx_metadata: [{ gateway_ids: { gateway_id: 'sim-gw' }, rssi: u.rssi, channel_rssi: u.rssi, snr: u.snr }],
      settings: { data_rate: { lora: { bandwidth: 125000, spreading_factor: 7 } }, frequency: '486300000' },
      received_at: new Date(u.at).toISOString(),
    },
  };
  return { topic: `v3/${appId}@${tenant}/devices/${u.deviceName}/up`, payload: JSON.stringify(body) };
}
